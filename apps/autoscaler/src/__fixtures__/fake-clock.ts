import type { Clock } from '../clock.js';

/** Lets every promise chain that is not waiting on a timer run to its next wait. */
export async function flush(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A virtual clock: time moves only through `advance`, timers fire in order. */
export function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  const timers = new Set<{ at: number; fire: () => void }>();

  const clock: Clock = {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = {
          at: now + Math.max(0, ms),
          fire: () => {
            timers.delete(timer);
            signal?.removeEventListener('abort', timer.fire);
            resolve();
          },
        };
        timers.add(timer);
        signal?.addEventListener('abort', timer.fire, { once: true });
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
        let next: { at: number; fire: () => void } | undefined;
        for (const timer of timers) if (timer.at <= target && (!next || timer.at < next.at)) next = timer;
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
