import type { RateLimiter } from '../rate-limiter.js';

/**
 * Counts requests between the limiter's grant and their answer (`observe`), so a virtual clock
 * can wait for them before moving on: virtual time then passes as if the network took no time.
 */
export function inFlightTracker() {
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  return {
    settled(): Promise<void> {
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    wrap(limiter: RateLimiter): RateLimiter {
      return {
        async acquire(signal) {
          await limiter.acquire(signal);
          inFlight++;
        },
        observe(observation) {
          limiter.observe(observation);
          inFlight = Math.max(0, inFlight - 1);
          if (inFlight === 0) {
            const ready = waiters;
            waiters = [];
            for (const resolve of ready) resolve();
          }
        },
      };
    },
  };
}
