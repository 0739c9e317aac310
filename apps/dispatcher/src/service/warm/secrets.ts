import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomId } from '../names.js';

/** A warm VM id: `w` + 12 base32 characters, hostname- and tag-safe like dispatch ids. */
export function newWarmId(bytes: (n: number) => Uint8Array = randomBytes): string {
  return randomId('w', bytes);
}

/** The agent's one-time secret: 256 bits, url-safe. Only its hash is stored. */
export function newAgentSecret(bytes: (n: number) => Uint8Array = randomBytes): string {
  return Buffer.from(bytes(32)).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
