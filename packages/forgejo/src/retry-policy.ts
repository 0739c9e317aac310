/**
 * When to retry a Forgejo request; how long to wait (backoff, Retry-After) is the runtime kit's.
 *
 * Rule for non-idempotent requests (POST: register runner, create hook): retry only when the
 * request provably did not reach Forgejo's handler:
 *   - the connection could not be established (refused, DNS failure, unreachable, connect timeout);
 *   - 429 Too Many Requests (a rate limiter in front of Forgejo rejected it unprocessed).
 * Never after a timeout, a reset connection or a 5xx: the runner or hook may already exist, and a
 * blind retry would leave an extra registration. The caller sees the error (retryable) and
 * reconciles: the dispatcher's registrations are named after the handle and swept by the reconciler.
 * Idempotent requests (GET, PATCH with the same body, DELETE) retry on every network error,
 * timeout, 408, 429 and 5xx (except 501/505); a retried DELETE may then answer 404, which callers
 * already treat as done.
 */
import type { RetryPolicy } from '@forgejo-fleet/runtime';

export type { RetryOptions } from '@forgejo-fleet/runtime';

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseMs: 250, maxMs: 5_000 };

/** Statuses after which even a POST may be retried: the request was refused before processing. */
export function isUnprocessedStatus(status: number): boolean {
  return status === 429;
}

const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when the error shows the connection was never established, so nothing was sent. */
export function isConnectError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECT_ERROR_CODES.has(code)) return true;
  // Happy eyeballs (autoSelectFamily) reports every failed address in an AggregateError.
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.every(isConnectError);
  return isConnectError((err as { cause?: unknown }).cause);
}
