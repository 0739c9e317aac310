import { createHash } from 'node:crypto';

/** RunInstances' limit: "Maximum 64 ASCII characters". */
export const CLIENT_TOKEN_MAX = 64;

/**
 * The RunInstances ClientToken of one dispatch on one choice. AWS scopes idempotency per
 * availability zone (a subnet implies one), so each choice needs its own token; the same
 * dispatch retried on the same choice must get the same one, across retries and restarts.
 * Hashed, because the inputs are unbounded and may hold any character.
 */
export function clientToken(idempotencyKey: string, choiceKey: string): string {
  const digest = createHash('sha256').update(idempotencyKey).update('\u0000').update(choiceKey).digest('hex');
  return `ff-${digest.slice(0, CLIENT_TOKEN_MAX - 3)}`;
}
