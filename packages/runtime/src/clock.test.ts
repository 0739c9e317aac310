import { describe, expect, it } from 'vitest';
import { isAbortError, throwIfAborted } from './abort.js';
import { sleepUnlessAborted, systemClock } from './clock.js';
import { fakeClock } from './testing/fake-clock.js';

describe('systemClock.sleep', () => {
  it('resolves after the time passed', async () => {
    await expect(systemClock.sleep(1)).resolves.toBeUndefined();
  });

  it('rejects with an AbortError when the signal aborts first', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort();
    const error = await sleeping.catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
  });

  it('rejects at once on an aborted signal, keeping an AbortError reason as it is', async () => {
    const reason = new DOMException('gone', 'AbortError');
    await expect(systemClock.sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe('throwIfAborted', () => {
  it('throws an AbortError whose cause is a non-AbortError reason', () => {
    const reason = new Error('shutdown');
    const error = (() => {
      try {
        throwIfAborted(AbortSignal.abort(reason));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.name).toBe('AbortError');
    expect(error?.cause).toBe(reason);
    expect(() => throwIfAborted(undefined)).not.toThrow();
  });
});

describe('sleepUnlessAborted', () => {
  it('ends quietly on abort', async () => {
    const time = fakeClock();
    const controller = new AbortController();
    const sleeping = sleepUnlessAborted(time.clock, 1_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBeUndefined();
    expect(time.pendingTimers()).toBe(0);
  });
});
