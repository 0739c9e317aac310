import { describe, expect, it } from 'vitest';
import { isAbortError } from '../abort.js';
import { fakeClock } from './fake-clock.js';
import { virtualClock } from './virtual-clock.js';

describe('fakeClock', () => {
  it('wakes sleepers in order of due time, then of start, only when time passes', async () => {
    const time = fakeClock(0);
    const woke: string[] = [];
    void time.clock.sleep(200).then(() => woke.push(`b@${time.now()}`));
    void time.clock.sleep(100).then(() => woke.push(`a@${time.now()}`));
    void time.clock.sleep(200).then(() => woke.push(`c@${time.now()}`));
    await time.advance(99);
    expect(woke).toEqual([]);
    await time.advance(101);
    expect(woke).toEqual(['a@100', 'b@200', 'c@200']);
    expect(time.pendingTimers()).toBe(0);
  });

  it('rejects an aborted sleep and forgets its timer', async () => {
    const time = fakeClock();
    const controller = new AbortController();
    const sleeping = time.clock.sleep(1_000, controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(isAbortError(await sleeping)).toBe(true);
    expect(time.pendingTimers()).toBe(0);
  });
});

describe('virtualClock', () => {
  it('moves time by each sleep and records it', async () => {
    const clock = virtualClock(0);
    await clock.sleep(250);
    await clock.sleep(-5);
    clock.advance(10);
    expect(clock.now()).toBe(260);
    expect(clock.slept).toEqual([250, -5]);
    await expect(clock.sleep(1, AbortSignal.abort())).rejects.toThrow();
  });
});
