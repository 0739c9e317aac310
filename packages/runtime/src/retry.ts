/**
 * Backoff and `Retry-After`: how long to wait before the next attempt of an HTTP call. Which calls
 * may be retried at all is the caller's rule (Forgejo retries a POST only when it provably was not
 * received; see packages/forgejo/src/retry-policy.ts).
 */

export interface RetryPolicy {
  /** Attempts in all, the first included (>= 1). */
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

export type RetryOptions = Partial<RetryPolicy>;

/** Retry-After is honoured up to this long by default; a longer wait is the caller's decision. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** A full policy from partial options over `defaults`; throws RangeError naming the bad field. */
export function retryPolicy(opts: RetryOptions | undefined, defaults: RetryPolicy): RetryPolicy {
  const attempts = opts?.attempts ?? defaults.attempts;
  const baseMs = opts?.baseMs ?? defaults.baseMs;
  const maxMs = opts?.maxMs ?? defaults.maxMs;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError('retry.attempts must be an integer >= 1');
  if (!(baseMs >= 0) || !(maxMs >= baseMs)) throw new RangeError('retry: need 0 <= baseMs <= maxMs');
  return { attempts, baseMs, maxMs };
}

/** Equal-jitter exponential backoff: half fixed, half random, for attempt 1, 2, … (the one that failed). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The wait after failed `attempt`: the backoff, or the server's Retry-After when that is longer. */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs: number | undefined,
): number {
  return Math.max(retryAfterMs ?? 0, backoffMs(attempt, policy, random));
}

/**
 * Parses Retry-After (delta seconds or HTTP date) into milliseconds, capped at `maxMs`.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number,
  maxMs = MAX_RETRY_AFTER_MS,
): number | undefined {
  if (value === undefined || value === null) return undefined;
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
  return Math.min(ms, maxMs);
}

/** 408, 429 and 5xx except 501 Not Implemented and 505 HTTP Version Not Supported: worth another try. */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505)
  );
}
