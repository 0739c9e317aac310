import { abortError } from '../abort.js';
import type { Clock } from '../clock.js';

/** Lets every promise chain that is not waiting on a timer run to its next wait. */
export async function flush(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
}

/**
 * A virtual clock: time moves only through `advance`, sleepers wake in order of their due time
 * (then of their start). A sleep rejects with an AbortError when its signal aborts, as the system
 * clock's does.
 */
export function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  let seq = 0;
  const timers = new Set<Timer>();

  const clock: Clock = {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortError(signal));
          return;
        }
        const onAbort = () => {
          timers.delete(timer);
          reject(abortError(signal as AbortSignal));
        };
        const timer: Timer = {
          at: now + Math.max(0, ms),
          seq: seq++,
          fire: () => {
            timers.delete(timer);
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        timers.add(timer);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };

  return {
    clock,
    now: () => now,
    pendingTimers: () => timers.size,
    /** Moves time forward by `ms`, firing due timers in order and letting their effects settle. */
    async advance(ms: number): Promise<void> {
      const target = now + ms;
      for (;;) {
        await flush();
        let next: Timer | undefined;
        for (const timer of timers) {
          if (timer.at > target) continue;
          if (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq)) next = timer;
        }
        if (!next) break;
        now = Math.max(now, next.at);
        next.fire();
      }
      now = target;
      await flush();
    },
  };
}

export type FakeClock = ReturnType<typeof fakeClock>;
