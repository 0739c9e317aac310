import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { every } from './loop.js';
import { type FakeClock, fakeClock, flush } from './testing/fake-clock.js';

const silent = pino({ level: 'silent' });

/** A tick the test finishes by hand; records when each started and whether it saw the stop. */
function passes(time: FakeClock) {
  const started: number[] = [];
  let finish: () => void = () => undefined;
  let sawAbort = false;
  return {
    started,
    finish: () => finish(),
    sawAbort: () => sawAbort,
    tick: (signal: AbortSignal) => {
      started.push(time.now() - 1_700_000_000_000);
      signal.addEventListener('abort', () => {
        sawAbort = true;
      });
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    },
  };
}

function loop(time: FakeClock, tick: (signal: AbortSignal) => Promise<unknown>, minGapMs = 2_000) {
  return every(60_000, tick, { name: 'test', clock: time.clock, log: silent, minGapMs });
}

describe('every', () => {
  it('runs one tick for many concurrent asks, and one more for asks during it', async () => {
    const time = fakeClock();
    const p = passes(time);
    const l = loop(time, p.tick);

    for (let i = 0; i < 10; i++) l.now();
    await flush();
    expect(p.started).toEqual([0]);

    for (let i = 0; i < 10; i++) l.now();
    await time.advance(5_000);
    expect(p.started).toEqual([0]);

    p.finish();
    await flush();
    expect(p.started).toEqual([0, 5_000]);
    p.finish();
    await l.stop();
  });

  it('starts at most one tick per min gap: asks inside the gap join the tick at its end', async () => {
    const time = fakeClock();
    const p = passes(time);
    const l = loop(time, p.tick);

    l.now();
    await flush();
    p.finish();
    await time.advance(500);
    for (let i = 0; i < 10; i++) {
      l.now();
      await time.advance(100);
    }
    expect(p.started).toEqual([0]);

    await time.advance(499); // 1.999 s: still inside the gap
    expect(p.started).toEqual([0]);
    await time.advance(1); // 2 s: the gap is over
    expect(p.started).toEqual([0, 2_000]);
    p.finish();
    await time.advance(10_000);
    expect(p.started).toEqual([0, 2_000]);
    await l.stop();
  });

  it('a zero gap starts the next tick as soon as one ends', async () => {
    const time = fakeClock();
    const p = passes(time);
    const l = loop(time, p.tick, 0);

    l.now();
    await flush();
    l.now();
    p.finish();
    await flush();
    expect(p.started).toEqual([0, 0]);
    p.finish();
    await l.stop();
  });

  it('runs every interval by itself after the previous tick, and not after stop', async () => {
    const time = fakeClock();
    const started: number[] = [];
    const l = loop(time, async () => {
      started.push(time.now() - 1_700_000_000_000);
    });

    await time.advance(120_000);
    expect(started).toEqual([60_000, 120_000]);

    await l.stop();
    l.now();
    await time.advance(120_000);
    expect(started).toEqual([60_000, 120_000]);
    expect(time.pendingTimers()).toBe(0);
  });

  it('runs at once with immediate, and asks a function for each next delay', async () => {
    const time = fakeClock();
    const started: number[] = [];
    const delays = [1_000, 5_000, 2_000];
    const l = every(
      () => delays.shift() ?? 60_000,
      async () => {
        started.push(time.now() - 1_700_000_000_000);
      },
      { name: 'test', clock: time.clock, log: silent, immediate: true },
    );
    await time.advance(8_000);
    expect(started).toEqual([0, 1_000, 6_000, 8_000]);
    await l.stop();
  });

  it('keeps going after a failed tick, logging it with the loop name', async () => {
    const time = fakeClock();
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    let calls = 0;
    const l = every(
      60_000,
      async () => {
        calls++;
        throw new Error('provider down');
      },
      { name: 'reconcile', clock: time.clock, log, minGapMs: 2_000 },
    );

    l.now();
    await time.advance(2_000);
    l.now();
    await time.advance(2_000);
    expect(calls).toBe(2);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ loop: 'reconcile', err: 'provider down' });
    await l.stop();
  });

  it('stop aborts the running tick and waits for it to end', async () => {
    const time = fakeClock();
    const p = passes(time);
    const l = loop(time, p.tick);
    l.now();
    await flush();

    let stopped = false;
    const stopping = l.stop().then(() => {
      stopped = true;
    });
    await flush();
    expect(p.sawAbort()).toBe(true);
    expect(stopped).toBe(false);
    p.finish();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('stops when the given signal aborts', async () => {
    const time = fakeClock();
    const controller = new AbortController();
    let calls = 0;
    const l = every(
      1_000,
      async () => {
        calls++;
      },
      { name: 'test', clock: time.clock, log: silent, signal: controller.signal, immediate: true },
    );
    await time.advance(1_000);
    controller.abort();
    await l.stopped;
    await time.advance(5_000);
    expect(calls).toBe(2);
  });

  it.each([
    ['interval', -1, 0],
    ['interval', Number.NaN, 0],
    ['minGapMs', 1_000, -5],
  ])('refuses a bad %s', (_, interval, minGapMs) => {
    expect(() =>
      every(interval, async () => undefined, { name: 'x', clock: fakeClock().clock, log: silent, minGapMs }),
    ).toThrow(RangeError);
  });
});
