import type { Store } from '@forgejo-fleet/store';
import { describe, expect, it } from 'vitest';
import { fakeClock } from '../__fixtures__/world-parts.js';
import { createLogger } from '../logger.js';
import { HEARTBEAT_MS, heartbeat } from './heartbeat.js';

function world(touch: Store['touch']) {
  const time = fakeClock();
  const timers: { fn: () => void; ms: number }[] = [];
  const working = new Set<string>();
  const beats = heartbeat(
    { store: { touch } as Store, clock: time.clock, log: createLogger('silent') },
    () => [...working],
    (fn, ms) => {
      timers.push({ fn, ms });
      return () => undefined;
    },
  );
  return { time, timers, working, beats };
}

describe('provisioning heartbeat', () => {
  it('marks every in-flight dispatch in one write per interval, and stops once nothing is in flight', async () => {
    const calls: [readonly string[], number][] = [];
    const w = world(async (ids, at) => {
      calls.push([ids, at]);
    });
    w.working.add('d1');
    w.working.add('d2');

    w.beats.wake();
    w.beats.wake();
    expect(w.timers.map((t) => t.ms)).toEqual([HEARTBEAT_MS]);
    w.time.advance(HEARTBEAT_MS);
    w.timers.shift()?.fn();
    await Promise.resolve();
    w.working.clear();
    w.timers.shift()?.fn();

    expect(calls).toEqual([[['d1', 'd2'], w.time.now()]]);
    expect(w.timers).toHaveLength(0);
  });

  it('keeps beating after a failed write', async () => {
    let failures = 0;
    const w = world(async () => {
      failures++;
      throw new Error('database away');
    });
    w.working.add('d1');

    w.beats.wake();
    w.timers.shift()?.fn();
    await Promise.resolve();

    expect(failures).toBe(1);
    expect(w.timers).toHaveLength(1);
  });
});
