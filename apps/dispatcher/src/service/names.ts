import { randomBytes } from 'node:crypto';
import { STORE_TAG } from './ownership.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `prefix` + 12 base32 characters (60 bits), lowercase so it fits hostnames, tags and labels. */
export function randomId(prefix: string, bytes: (n: number) => Uint8Array = randomBytes): string {
  const raw = bytes(12);
  let out = prefix;
  for (let i = 0; i < 12; i++) out += ALPHABET[(raw[i] ?? 0) % 32];
  return out;
}

/** A dispatch id: `d` + 12 base32 characters. */
export function randomDispatchId(bytes: (n: number) => Uint8Array = randomBytes): string {
  return randomId('d', bytes);
}

/** Runner and VM name: `<prefix>-<dispatch id>`, unique per dispatch and at most 63 characters. */
export function instanceName(prefix: string, dispatchId: string): string {
  return `${prefix}-${dispatchId}`.slice(0, 63);
}

/**
 * The VM's name: the runner's name, plus `-rN` for the N-th fresh VM after pickup timeouts, so a
 * retry never collides with (or adopts) the VM it replaces while the cloud is still deleting it.
 */
export function vmName(runnerName: string, retries: number): string {
  return retries === 0 ? runnerName : `${runnerName}-r${retries}`;
}

/**
 * Tags written on every VM: the fleet id and the store id mark ownership (the store id keeps two
 * stores that share a fleet id apart); the rest lets the reconciler match records.
 */
export function instanceTags(params: {
  fleetId: string;
  storeId: string;
  dispatchId: string;
  handle: string | null;
  route: string;
  scope: string;
}): Record<string, string> {
  return {
    'forgejo-fleet': params.fleetId,
    [STORE_TAG]: params.storeId,
    'forgejo-fleet-dispatch': params.dispatchId,
    'forgejo-fleet-route': params.route,
    'forgejo-fleet-scope': params.scope,
    ...(params.handle === null ? {} : { 'forgejo-fleet-handle': params.handle }),
  };
}
