import { abortError, type ProviderClock } from '../clock.js';

/**
 * A clock whose `sleep` moves virtual time forward at once and resolves on the next tick. Exact
 * when sleepers take turns (the rate limiter lets one waiter sleep at a time), and never waits
 * in real time. `settle` (optional) is awaited before time moves: requests still on the wire
 * arrive first, as they would when the network is fast compared to the sleeps.
 */
export function virtualClock(
  start = 1_700_000_000_000,
  settle: () => Promise<void> = async () => undefined,
): ProviderClock & { slept: number[]; advance(ms: number): void } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    advance(ms) {
      now += ms;
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw abortError(signal);
      await settle();
      slept.push(ms);
      now += Math.max(0, ms);
      await Promise.resolve();
    },
  };
}
