import { abortError } from '../abort.js';
import type { Clock } from '../clock.js';

/**
 * A clock whose `sleep` moves virtual time forward at once and resolves on the next tick. Exact
 * when sleepers take turns (a rate limiter lets one waiter sleep at a time), and never waits in
 * real time. `settle` (optional) is awaited before time moves: requests still on the wire arrive
 * first, as they would when the network is fast compared to the sleeps. `slept` records each wait.
 */
export function virtualClock(
  start = 1_700_000_000_000,
  settle: () => Promise<void> = async () => undefined,
): Clock & { slept: number[]; advance(ms: number): void } {
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
