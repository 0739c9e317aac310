import { createHash } from 'node:crypto';
import { isLabelName, labelValue } from '../hetzner/labels.js';
import type { Flavor } from './config-schema.js';

/**
 * Tags ↔ Kubernetes labels and annotations. Label values follow the same rule as Hetzner's (at
 * most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends), so the value written to the label is
 * Hetzner's `labelValue`: the tag itself when valid, else a readable part and 12 hex of its
 * SHA-256. The exact value then goes to the annotation `tag.forgejo-fleet/<key>` (annotations take
 * any text), and reading prefers it while the label still matches it. A list selects by the label
 * values and filters the decoded tags exactly (notes/kubernetes.md §2).
 *
 * Keys with a prefix (`…/name`) are never tags: they are ours (below) or the cluster's.
 */

/** `pod` or `kubevirt`: a pod-flavour list never sees KubeVirt's virt-launcher pods, which copy the VMI's labels. */
export const FLAVOR_LABEL = 'k8s.forgejo-fleet/flavor';
/** The exact idempotency key: an object found by its name is ours only if it carries the same. */
export const KEY_ANNOTATION = 'k8s.forgejo-fleet/idempotency-key';
/** The spec's name (object names come from the idempotency key). */
export const NAME_ANNOTATION = 'k8s.forgejo-fleet/name';
const TAG_ANNOTATION = 'tag.forgejo-fleet/';

export class LabelError extends Error {
  override readonly name = 'LabelError';
}

export interface Metadata {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** Labels and annotations for the tags; throws a LabelError naming a key that cannot be a label key. */
export function tagsToMetadata(tags: Readonly<Record<string, string>>): Metadata {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (!isLabelName(key))
      throw new LabelError(`tag key "${key.slice(0, 63)}" is not a valid Kubernetes label name`);
    labels[key] = labelValue(value);
    if (labels[key] !== value) annotations[`${TAG_ANNOTATION}${key}`] = value;
  }
  return { labels, annotations };
}

/** The tags the metadata was made from; labels set by others (without a prefix) come through as they are. */
export function metadataToTags(
  labels: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>>,
): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (!key.includes('/')) tags[key] = value;
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(TAG_ANNOTATION)) continue;
    const name = key.slice(TAG_ANNOTATION.length);
    // Only while the label still matches: a label edited by hand wins over a stale annotation.
    if (tags[name] !== undefined && tags[name] === labelValue(value)) tags[name] = value;
  }
  return tags;
}

/** `k1=v1,k2=v2,k8s.forgejo-fleet/flavor=pod`: the tags as written, AND the flavour. */
export function labelSelector(tags: Readonly<Record<string, string>>, flavor: Flavor): string {
  const parts = Object.entries(tags).map(([key, value]) => {
    if (!isLabelName(key))
      throw new LabelError(`tag key "${key.slice(0, 63)}" is not a valid Kubernetes label name`);
    return `${key}=${labelValue(value)}`;
  });
  return [...parts, `${FLAVOR_LABEL}=${flavor}`].join(',');
}

/**
 * The object name of an idempotency key: a DNS-1123 label of at most 63 (pod hostnames are cut
 * there), a readable part of the key and 16 hex of its SHA-256, so the same key always names the
 * same object and a replayed create meets 409 AlreadyExists.
 */
export function objectName(idempotencyKey: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16);
  const readable = idempotencyKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63 - hash.length - 1)
    .replace(/-+$/, '');
  return readable === '' ? `ff-${hash}` : `${readable}-${hash}`;
}
