import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { type LoopTimers, startReconcileLoop } from './reconcile-loop.js';

/** A clock the test moves; due timers run in order as it passes them. */
function fakeTimers(): LoopTimers & { advance(ms: number): Promise<void> } {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    after(fn, ms) {
      const id = ++seq;
      pending.set(id, { at: now + ms, fn });
      return () => pending.delete(id);
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...pending.entries()]
          .filter(([, t]) => t.at <= end)
          .sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
        if (!due) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A pass the test finishes by hand; records when each started. */
function passes(timers: LoopTimers) {
  const started: number[] = [];
  let finish: () => void = () => undefined;
  return {
    started,
    finish: () => finish(),
    tick: () => {
      started.push(timers.now());
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    },
  };
}

function loop(timers: LoopTimers, tick: () => Promise<void>, minGapMs = 2_000) {
  return startReconcileLoop({ intervalMs: 60_000, minGapMs, tick, log: createLogger('silent'), timers });
}

describe('reconcile loop', () => {
  it('runs one pass for many concurrent requests, and one more for requests during it', async () => {
    const timers = fakeTimers();
    const p = passes(timers);
    const l = loop(timers, p.tick);

    for (let i = 0; i < 10; i++) l.request();
    await settle();
    expect(p.started).toEqual([0]);

    for (let i = 0; i < 10; i++) l.request();
    await timers.advance(5_000);
    expect(p.started).toEqual([0]);

    p.finish();
    await settle();
    expect(p.started).toEqual([0, 5_000]);
    p.finish();
    await l.stop();
  });

  it('starts at most one pass per min_gap: requests inside the gap join the pass at its end', async () => {
    const timers = fakeTimers();
    const p = passes(timers);
    const l = loop(timers, p.tick);

    l.request();
    await settle();
    p.finish();
    await timers.advance(500);
    for (let i = 0; i < 10; i++) {
      l.request();
      await timers.advance(100);
    }
    expect(p.started).toEqual([0]);

    await timers.advance(499); // t = 1.999 s: still inside the gap
    expect(p.started).toEqual([0]);
    await timers.advance(1); // t = 2 s: the gap is over
    expect(p.started).toEqual([0, 2_000]);
    p.finish();
    await timers.advance(10_000);
    expect(p.started).toEqual([0, 2_000]);
    await l.stop();
  });

  it('a zero gap starts the next pass as soon as one ends', async () => {
    const timers = fakeTimers();
    const p = passes(timers);
    const l = loop(timers, p.tick, 0);

    l.request();
    await settle();
    l.request();
    p.finish();
    await settle();
    expect(p.started).toEqual([0, 0]);
    p.finish();
    await l.stop();
  });

  it('runs every interval by itself, and not after stop', async () => {
    const timers = fakeTimers();
    const started: number[] = [];
    const l = loop(timers, async () => {
      started.push(timers.now());
    });

    await timers.advance(120_000);
    expect(started).toEqual([60_000, 120_000]);

    await l.stop();
    l.request();
    await timers.advance(120_000);
    expect(started).toEqual([60_000, 120_000]);
  });

  it('keeps going after a failed pass', async () => {
    const timers = fakeTimers();
    let calls = 0;
    const l = loop(timers, async () => {
      calls++;
      throw new Error('provider down');
    });

    l.request();
    await timers.advance(2_000);
    l.request();
    await timers.advance(2_000);
    expect(calls).toBe(2);
    await l.stop();
  });
});
