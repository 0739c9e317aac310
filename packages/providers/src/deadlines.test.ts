import { describe, expect, it } from 'vitest';
import { type DeadlineTimer, REBUILD_DEADLINE_MS, withDeadlines } from './deadlines.js';
import { REBUILD_TIMEOUT_MS } from './hetzner/rebuild.js';
import { type CallOptions, DEFAULT_CHOICE, type Instance, type Provider, ProviderError } from './provider.js';

const TIMEOUTS = { create: 120_000, get: 30_000, list: 60_000, delete: 45_000 };
const INSTANCE: Instance = { id: 'vm-1', name: 'vm-1', state: 'running', tags: {} };

/** A timer the test fires by hand; records what was started and what was cancelled. */
function manualTimer() {
  const timers: { ms: number; fire: () => void; cancelled: boolean }[] = [];
  const timer: DeadlineTimer = (ms, onExpire) => {
    const entry = { ms, fire: onExpire, cancelled: false };
    timers.push(entry);
    return () => {
      entry.cancelled = true;
    };
  };
  return { timer, timers };
}

/** A provider whose calls wait until the test settles them; it records the signals it got. */
function pendingProvider(options: { ignoreSignal?: boolean; deleteMany?: boolean; rebuild?: boolean } = {}) {
  const signals: AbortSignal[] = [];
  const settle: ((value: unknown) => void)[] = [];
  function call<T>(o: CallOptions | undefined): Promise<T> {
    const signal = o?.signal as AbortSignal;
    signals.push(signal);
    return new Promise<T>((resolve, reject) => {
      settle.push(resolve as (value: unknown) => void);
      if (options.ignoreSignal) return;
      if (signal.aborted) reject(new DOMException('aborted', 'AbortError'));
      signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), {
        once: true,
      });
    });
  }
  const provider: Provider = {
    name: 'p',
    kind: 'memory',
    choices: [DEFAULT_CHOICE],
    create: (_spec, o) => call(o),
    get: (_id, o) => call(o),
    list: (_tags, o) => call(o),
    delete: (_id, o) => call(o),
    ...(options.deleteMany ? { deleteMany: (_ids: readonly string[], o?: CallOptions) => call(o) } : {}),
    ...(options.rebuild
      ? { rebuild: (_id: string, _spec: unknown, o?: CallOptions) => call<Instance>(o) }
      : {}),
  };
  return { provider, signals, settle };
}

const SPEC = { name: 'vm-1', idempotencyKey: 'k', userData: '', tags: {} };

describe('withDeadlines', () => {
  it.each([
    [
      'create',
      120_000,
      (p: Provider) => p.create(SPEC),
      'p: create: deadline of 120 s exceeded; the answer is lost, a VM may exist',
    ],
    ['get', 30_000, (p: Provider) => p.get('vm-1'), 'p: get vm-1: deadline of 30 s exceeded'],
    ['list', 60_000, (p: Provider) => p.list({ a: 'b' }), 'p: list: deadline of 60 s exceeded'],
    ['delete', 45_000, (p: Provider) => p.delete('vm-1'), 'p: delete vm-1: deadline of 45 s exceeded'],
    [
      'deleteMany',
      45_000,
      (p: Provider) => p.deleteMany?.(['a', 'b']) ?? Promise.resolve(),
      'p: delete 2 instances: deadline of 45 s exceeded',
    ],
    [
      'rebuild',
      REBUILD_DEADLINE_MS,
      (p: Provider) => p.rebuild?.('vm-1', SPEC) ?? Promise.resolve(),
      'p: rebuild vm-1: deadline of 420 s exceeded; the rebuild may still run',
    ],
  ] as const)(
    '%s gets its deadline (%i ms) and fails as transient with the deadline named',
    async (_verb, ms, run, message) => {
      const { timer, timers } = manualTimer();
      const inner = pendingProvider({ deleteMany: true, rebuild: true });
      const provider = withDeadlines(inner.provider, TIMEOUTS, timer);

      const call = run(provider);
      expect(timers.map((t) => t.ms)).toEqual([ms]);
      timers[0]?.fire();

      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ class: 'transient', retryable: true, message });
      expect(inner.signals[0]?.aborted).toBe(true);
      expect(inner.signals[0]?.reason).toMatchObject({ name: 'DeadlineExceeded' });
    },
  );

  it('settles at the deadline even when the provider ignores its signal', async () => {
    const { timer, timers } = manualTimer();
    const provider = withDeadlines(pendingProvider({ ignoreSignal: true }).provider, TIMEOUTS, timer);

    const call = provider.create(SPEC);
    timers[0]?.fire();

    await expect(call).rejects.toMatchObject({ class: 'transient' });
  });

  it('an answer in time passes through and cancels the timer', async () => {
    const { timer, timers } = manualTimer();
    const inner = pendingProvider();
    const provider = withDeadlines(inner.provider, TIMEOUTS, timer);

    const call = provider.get('vm-1');
    inner.settle[0]?.(INSTANCE);

    await expect(call).resolves.toBe(INSTANCE);
    expect(timers[0]?.cancelled).toBe(true);
  });

  it("the caller's abort reaches the provider and rejects with an AbortError, not a deadline error", async () => {
    const { timer, timers } = manualTimer();
    const inner = pendingProvider({ ignoreSignal: true });
    const provider = withDeadlines(inner.provider, TIMEOUTS, timer);
    const controller = new AbortController();

    const call = provider.list({}, { signal: controller.signal });
    controller.abort();

    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(inner.signals[0]?.aborted).toBe(true);
    expect(timers[0]?.cancelled).toBe(false); // cancelled once the provider settles
    inner.settle[0]?.([]);
    await Promise.resolve();
    await Promise.resolve();
    expect(timers[0]?.cancelled).toBe(true);
  });

  it('an already aborted caller reaches the provider without a timer', async () => {
    const { timer, timers } = manualTimer();
    const inner = pendingProvider();
    const provider = withDeadlines(inner.provider, TIMEOUTS, timer);

    await expect(provider.delete('vm-1', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(timers).toEqual([]);
  });

  it("gives rebuild a deadline above the Hetzner provider's own wait for the rebuild action", () => {
    expect(REBUILD_DEADLINE_MS).toBeGreaterThan(REBUILD_TIMEOUT_MS);
    expect(REBUILD_DEADLINE_MS).toBeGreaterThan(TIMEOUTS.create);
  });

  it('passes rebuild through only when the provider has it, and answers in time', async () => {
    expect(withDeadlines(pendingProvider().provider, TIMEOUTS).rebuild).toBeUndefined();
    const { timer, timers } = manualTimer();
    const inner = pendingProvider({ rebuild: true });
    const provider = withDeadlines(inner.provider, TIMEOUTS, timer);

    const call = provider.rebuild?.('vm-1', SPEC);
    inner.settle[0]?.(INSTANCE);

    await expect(call).resolves.toBe(INSTANCE);
    expect(timers.map((t) => [t.ms, t.cancelled])).toEqual([[REBUILD_DEADLINE_MS, true]]);
  });

  it('offers deleteMany only when the provider has it', () => {
    expect(withDeadlines(pendingProvider().provider, TIMEOUTS).deleteMany).toBeUndefined();
    expect(withDeadlines(pendingProvider({ deleteMany: true }).provider, TIMEOUTS).deleteMany).toBeTypeOf(
      'function',
    );
  });
});
