import { createHash } from 'node:crypto';

/**
 * Tags ↔ Hetzner labels. A label value is at most 63 characters of `[A-Za-z0-9._-]`, starting and
 * ending alphanumeric; tags like `forgejo-fleet-scope: repo:alice/website` are not. The mapping:
 *
 * - a tag whose value is a valid label value is written as is: `k=v`;
 * - any other value is written twice: `k=<readable part>-<12 hex of its SHA-256>` (valid, and the
 *   same for the same value, so `label_selector=k=…` still finds it), and the exact value, base32
 *   encoded (only `a-z2-7`, always valid) in chunks of 63 under `v0.forgejo-fleet/k`,
 *   `v1.forgejo-fleet/k`, … Reading decodes the chunks back, so tags round-trip exactly.
 *
 * Labels with a prefix (`…/name`) are never tags: they hold chunks and the idempotency mark.
 */
const VALUE = /^(?:[a-z0-9A-Z]|[a-z0-9A-Z][a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$/;
const NAME = /^[a-z0-9A-Z](?:[a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$/;
const CHUNK_KEY = /^v(\d+)\.forgejo-fleet\/(.+)$/;
const CHUNK = 63;
const HASH_HEX = 12;

/** Holds sha256(idempotency key): a server found by name is ours only if it carries the same. */
export const IDEMPOTENCY_LABEL = 'key.forgejo-fleet/idempotency';

/**
 * A rebuild's progress, next to the idempotency mark of the dispatch it is for:
 * `after-<id>` once the server is claimed (the rebuild is the first `rebuild_server` action above
 * action id `<id>`, whether it has started or not), `done-<id>` once action `<id>` succeeded.
 */
export const REBUILD_LABEL = 'key.forgejo-fleet/rebuild';
/** Epoch seconds of the claim: a server claimed for a rebuild reports `pending` for a while. */
export const REBUILD_AT_LABEL = 'key.forgejo-fleet/rebuild-at';

export type RebuildMark =
  | { readonly phase: 'claimed'; readonly afterAction: number }
  | { readonly phase: 'done'; readonly action: number };

export function rebuildMark(labels: Readonly<Record<string, string>>): RebuildMark | undefined {
  const match = /^(after|done)-(\d{1,16})$/.exec(labels[REBUILD_LABEL] ?? '');
  if (match === null) return undefined;
  const id = Number(match[2]);
  return match[1] === 'after' ? { phase: 'claimed', afterAction: id } : { phase: 'done', action: id };
}

/** The label value that marks a server as made (or rebuilt) for one idempotency key. */
export function keyMark(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | undefined {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) return undefined;
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((buffer >> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

export function isLabelValue(value: string): boolean {
  return VALUE.test(value);
}

export function isLabelName(key: string): boolean {
  return NAME.test(key);
}

/** The label value a tag value is written (and selected) as. */
export function labelValue(value: string): string {
  if (isLabelValue(value)) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, HASH_HEX);
  let readable = value.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, CHUNK - HASH_HEX - 2);
  readable = readable.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return readable === '' ? `x${hash}` : `${readable}-${hash}`;
}

/** Labels for the tags; throws a TypeError naming a tag key that cannot be a label key. */
export function tagsToLabels(tags: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (!isLabelName(key))
      throw new TypeError(`tag key "${key.slice(0, 63)}" is not a valid Hetzner label key`);
    labels[key] = labelValue(value);
    if (labels[key] === value) continue;
    const encoded = base32(Buffer.from(value, 'utf8'));
    for (let i = 0; i * CHUNK < encoded.length; i++) {
      labels[`v${i}.forgejo-fleet/${key}`] = encoded.slice(i * CHUNK, (i + 1) * CHUNK);
    }
  }
  return labels;
}

/** The tags the labels were made from (labels set by others come through as they are). */
export function labelsToTags(labels: Readonly<Record<string, string>>): Record<string, string> {
  const tags: Record<string, string> = {};
  const chunks = new Map<string, string[]>();
  for (const [key, value] of Object.entries(labels)) {
    const chunk = CHUNK_KEY.exec(key);
    if (chunk !== null) {
      const [, index, name] = chunk as unknown as [string, string, string];
      const parts = chunks.get(name) ?? [];
      parts[Number(index)] = value;
      chunks.set(name, parts);
    } else if (!key.includes('/')) tags[key] = value;
  }
  for (const [name, parts] of chunks) {
    const decoded = unbase32(parts.join(''));
    // Only when the short label still matches: a label edited by hand wins over stale chunks.
    if (decoded !== undefined && tags[name] === labelValue(decoded.toString('utf8'))) {
      tags[name] = decoded.toString('utf8');
    }
  }
  return tags;
}

/** `k1=v1,k2=v2`: every tag, as the label values they were written as. */
export function labelSelector(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([key, value]) => `${key}=${labelValue(value)}`)
    .join(',');
}
