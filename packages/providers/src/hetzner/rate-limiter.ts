import { createHash } from 'node:crypto';
import { type Clock, throwIfAborted } from '@forgejo-fleet/runtime';

/** Hetzner's default: 3,600 requests per hour and project, one more every second. */
export const DEFAULT_LIMIT = 3_600;
export const DEFAULT_REFILL_PER_SECOND = 1;
const EPSILON = 1e-9;

/** What one answer's `RateLimit-*` headers say about the project's bucket. */
export interface RateLimitObservation {
  readonly limit?: number;
  readonly remaining?: number;
}

export interface RateLimiter {
  /** Resolves when one request may be sent; waiters are served first come, first served. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Called after every answer (and failure) with what its headers said, possibly nothing. */
  observe(observation: RateLimitObservation): void;
}

/**
 * A client-side copy of the project's token bucket, kept conservative so the project never hits
 * `rate_limit_exceeded`: it starts with one request in flight until an answer tells the real
 * limit and what is left (another process may have spent part of it), and every answer can only
 * lower the local count (`min`), because requests still in flight are already taken off locally.
 */
export function createRateLimiter(
  clock: Clock,
  options: { limit?: number; refillPerSecond?: number } = {},
): RateLimiter {
  let capacity = options.limit ?? DEFAULT_LIMIT;
  const refillPerMs = (options.refillPerSecond ?? DEFAULT_REFILL_PER_SECOND) / 1_000;
  let tokens = capacity;
  let updatedAt = clock.now();
  let queue: Promise<void> = Promise.resolve();
  let synced: Promise<void> | undefined;
  let markSynced: (() => void) | undefined;

  function refill() {
    const now = clock.now();
    tokens = Math.min(capacity, tokens + (now - updatedAt) * refillPerMs);
    updatedAt = now;
  }

  async function take(signal: AbortSignal | undefined) {
    for (;;) {
      throwIfAborted(signal);
      refill();
      if (tokens + EPSILON >= 1) {
        tokens -= 1;
        return;
      }
      await clock.sleep(Math.ceil((1 - tokens) / refillPerMs), signal);
    }
  }

  return {
    async acquire(signal) {
      const previous = queue;
      let done!: () => void;
      queue = new Promise<void>((resolve) => {
        done = resolve;
      });
      try {
        await previous;
        if (synced === undefined) {
          // The first request probes alone; the rest wait for its headers.
          synced = new Promise<void>((resolve) => {
            markSynced = resolve;
          });
        } else await synced;
        await take(signal);
      } finally {
        done();
      }
    },

    observe({ limit, remaining }) {
      if (limit !== undefined && Number.isFinite(limit) && limit > 0) capacity = limit;
      refill();
      if (remaining !== undefined && Number.isFinite(remaining))
        tokens = Math.min(tokens, Math.max(0, remaining));
      tokens = Math.min(tokens, capacity);
      markSynced?.();
      markSynced = undefined;
    },
  };
}

/**
 * One limiter per project token (and endpoint): every provider and scope override that uses the
 * same token shares one bucket, since Hetzner counts per project. Tokens are kept only as hashes.
 */
export class RateLimiters {
  readonly #byProject = new Map<string, RateLimiter>();
  readonly #make: () => RateLimiter;

  constructor(make: () => RateLimiter) {
    this.#make = make;
  }

  for(endpoint: string, token: string): RateLimiter {
    const key = createHash('sha256').update(endpoint).update('\u0000').update(token).digest('hex');
    let limiter = this.#byProject.get(key);
    if (limiter === undefined) {
      limiter = this.#make();
      this.#byProject.set(key, limiter);
    }
    return limiter;
  }
}

/** Reads `RateLimit-Limit` and `RateLimit-Remaining` (absent or garbled headers say nothing). */
export function rateLimitHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): RateLimitObservation {
  function number(name: string): number | undefined {
    const raw = headers[name];
    const text = Array.isArray(raw) ? raw[0] : raw;
    if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
    return Number(text.trim());
  }
  const limit = number('ratelimit-limit');
  const remaining = number('ratelimit-remaining');
  return { ...(limit === undefined ? {} : { limit }), ...(remaining === undefined ? {} : { remaining }) };
}
