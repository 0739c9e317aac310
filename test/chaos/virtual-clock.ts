/**
 * Virtual time for a chaos run: `now()` moves only through `advance`, and `sleep` resolves when the
 * run has advanced past its deadline. Real I/O (the fake Forgejo on 127.0.0.1) still takes real time,
 * so the driver lets it settle between steps.
 */
export function virtualClock(start = Date.parse('2026-11-23T10:00:00Z')) {
  let now = start;
  let timers: { at: number; fire: () => void }[] = [];

  function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = {
        at: now + Math.max(0, ms),
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      function onAbort(): void {
        timers = timers.filter((t) => t !== timer);
        resolve();
      }
      timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  return {
    clock: { now: () => now, sleep },
    now: () => now,
    /** Moves time to `now + ms`, firing due timers in deadline order (one batch per deadline). */
    async advance(ms: number): Promise<void> {
      const target = now + ms;
      for (;;) {
        let soonest = Number.POSITIVE_INFINITY;
        for (const t of timers) if (t.at < soonest) soonest = t.at;
        if (soonest > target) break;
        now = Math.max(now, soonest);
        const due = timers.filter((t) => t.at <= now);
        timers = timers.filter((t) => t.at > now);
        for (const t of due) t.fire();
        // Lets the woken chains run to their next wait before later timers fire.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      }
      now = target;
    },
    pending: () => timers.length,
  };
}

export type VirtualClock = ReturnType<typeof virtualClock>;
