import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lifecycleWorld } from '../../__fixtures__/lifecycle-world.js';
import type { ServiceDeps } from '../deps.js';
import { RECONCILE, type ReconcileContext, type World } from './context.js';
import { pruneRetention } from './retention.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CALLER = { name: 'autoscaler', scopes: '*' as const };
const MANUAL = { scope: 'org:acme', labels: ['linux'] };

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
let dispatcher: ReturnType<typeof w.start>;
beforeEach(async () => {
  w = await lifecycleWorld();
  dispatcher = w.start();
});
afterEach(async () => {
  await w.close();
});

function context(): ReconcileContext {
  return {
    inFlight: new Set(),
    startProvision: () => undefined,
    firstSeen: new Map(),
    deleted: new Map(),
    lastRegistrationSweep: 0,
  };
}

function world(): World {
  return {
    now: w.now(),
    live: [],
    failed: [],
    instances: new Map(),
    foreign: new Map(),
    queues: new Map(),
    touched: new Set(),
  };
}

/** The service's deps with another `store.retention`. */
function withRetention(ms: number): ServiceDeps {
  const { deps } = dispatcher.service;
  return { ...deps, config: { ...deps.config, store: { ...deps.config.store, retention: ms } } };
}

/** A dispatch that ended (cancelled) now. */
async function ended(): Promise<string> {
  const { record } = await dispatcher.service.dispatch(MANUAL, CALLER);
  await dispatcher.service.drain();
  await dispatcher.service.cancel(record.id, CALLER);
  return record.id;
}

describe('retention in the reconcile pass', () => {
  it('prunes a dispatch ended longer than store.retention ago, with its history and decisions', async () => {
    const old = await ended();
    w.advance(30 * DAY + HOUR);
    const young = await ended();
    const live = (await dispatcher.service.dispatch(MANUAL, CALLER)).record.id;
    await dispatcher.service.drain();

    await pruneRetention(withRetention(30 * DAY), context(), world());

    expect(await dispatcher.store.get(old)).toBeUndefined();
    expect(await dispatcher.store.listDecisions({ dispatch_id: old, limit: 10 })).toEqual([]);
    expect((await dispatcher.store.get(young))?.state).toBe('cancelled');
    expect((await dispatcher.store.get(live))?.state).toBe('booting');
  });

  it('runs at most every few minutes', async () => {
    const aged = await ended();
    w.advance(DAY + HOUR);
    const ctx: ReconcileContext = { ...context(), lastPrune: w.now() - RECONCILE.pruneEveryMs + 1 };

    await pruneRetention(withRetention(HOUR), ctx, world());
    const skipped = await dispatcher.store.get(aged);
    w.advance(1);
    await pruneRetention(withRetention(HOUR), ctx, world());

    expect(skipped?.state).toBe('cancelled');
    expect(await dispatcher.store.get(aged)).toBeUndefined();
    expect(ctx.lastPrune).toBe(w.now());
  });

  it('never prunes what ended today, whatever the retention: the daily budgets count it', async () => {
    const startOfDay = Math.floor(w.now() / DAY) * DAY;
    w.advance(startOfDay + DAY - HOUR * 2 - w.now()); // 22:00 UTC
    const today = await ended();
    w.advance(HOUR + HOUR / 2); // 23:30, past a 1 h retention

    await pruneRetention(withRetention(HOUR), context(), world());

    expect((await dispatcher.store.get(today))?.state).toBe('cancelled');
  });
});
