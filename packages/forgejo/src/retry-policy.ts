/**
 * When and how long to wait before retrying a Forgejo request.
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

export type RetryOptions = { attempts?: number; baseMs?: number; maxMs?: number };

export type RetryConfig = { attempts: number; baseMs: number; maxMs: number };

export const DEFAULT_RETRY: RetryConfig = { attempts: 4, baseMs: 250, maxMs: 5_000 };

/** Retry-After is honoured up to this long; a longer wait is the caller's decision, not ours. */
export const MAX_RETRY_AFTER_MS = 60_000;

export function retryConfig(opts: RetryOptions | undefined): RetryConfig {
  const attempts = opts?.attempts ?? DEFAULT_RETRY.attempts;
  const baseMs = opts?.baseMs ?? DEFAULT_RETRY.baseMs;
  const maxMs = opts?.maxMs ?? DEFAULT_RETRY.maxMs;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError('retry.attempts must be an integer >= 1');
  if (!(baseMs >= 0) || !(maxMs >= baseMs)) throw new RangeError('retry: need 0 <= baseMs <= maxMs');
  return { attempts, baseMs, maxMs };
}

export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505)
  );
}

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

/** Equal-jitter exponential backoff: half fixed, half random, for attempt 1, 2, … (the one that failed). */
export function backoffMs(attempt: number, config: RetryConfig, random: () => number): number {
  const ceiling = Math.min(config.maxMs, config.baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Parses Retry-After (delta seconds or HTTP date) into milliseconds, capped at MAX_RETRY_AFTER_MS.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // HTTP dates name a weekday and month; V8's Date.parse would also accept "-1" or "1.5".
    const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(date)) return undefined;
    ms = Math.max(0, date - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
