import { abortError } from './abort.js';

/**
 * Time as every part of the fleet sees it; tests pass a virtual one (`@forgejo-fleet/runtime/testing`).
 * `sleep` rejects with an AbortError when `signal` aborts, like `node:timers/promises`: code after an
 * awaited sleep never runs by accident once the caller gave up.
 */
export interface Clock {
  /** Epoch milliseconds (UTC). */
  now(): number;
  /** Resolves after `ms`, or rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal as AbortSignal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

/** Sleeps like `clock.sleep`, but an abort ends the wait quietly (for loops that check the signal next). */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
