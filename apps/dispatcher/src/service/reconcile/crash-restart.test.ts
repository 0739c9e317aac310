import type { Provider } from '@forgejo-fleet/providers';
import type { Store } from '@forgejo-fleet/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRan } from '../../__fixtures__/job-ran.js';
import { lifecycleWorld, never, type Wrappers } from '../../__fixtures__/lifecycle-world.js';
import { RECONCILE } from './context.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

/** Each boundary: how the first process dies, and the state it leaves the dispatch in. */
const CRASHES: [string, Wrappers, string][] = [
  [
    'after the intent, before anything else',
    { store: (s) => hangOnTransition(s, 'registering') },
    'accepted',
  ],
  [
    'after the runner registration, before it is stored',
    {
      forgejo: (c) => ({
        ...c,
        async registerRunner(...args) {
          await c.registerRunner(...args);
          return never();
        },
      }),
    },
    'registering',
  ],
  [
    'during the create call, before the cloud got it',
    { provider: (p) => ({ ...p, create: () => never() }) },
    'provisioning',
  ],
  [
    'after the create call, before the record update',
    {
      provider: (p) =>
        withCreate(p, async (spec) => {
          await p.create(spec);
          return never();
        }),
    },
    'provisioning',
  ],
  ['after the record update', { store: (s) => hangAfterTransition(s, 'booting') }, 'booting'],
];

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld();
});
afterEach(async () => {
  await w.close();
});

describe('crash and restart at every step boundary of a dispatch', () => {
  it.each(CRASHES)('%s: one VM for the job, nothing left once it ends', async (_name, wrap, leftIn) => {
    const first = w.start(wrap);
    const job = w.job();
    const { record } = await first.service.dispatch(w.request(job), CALLER);
    await settle();
    expect((await first.store.get(record.id))?.state).toBe(leftIn);

    // The first process is dead (its work hangs forever); a new one opens the same store.
    const second = w.start();
    w.advance(RECONCILE.resumeAfterMs);
    await pass(second.service);
    await pass(second.service);

    expect((await second.store.get(record.id))?.state).toBe('booting');
    expect(w.vms(record.id)).toHaveLength(1);
    expect(w.vms()).toHaveLength(1);

    // The job runs and the VM powers off; then every leftover goes within the grace.
    await jobRan(w.forgejo, w.config, await second.store.get(record.id));
    const vm = w.vms(record.id)[0];
    if (vm) w.cloud.powerOff(vm.id);
    await pass(second.service);
    expect((await second.store.get(record.id))?.state).toBe('finished');
    w.advance(w.config.reconcile.orphan_grace + RECONCILE.registrationSweepMs);
    await pass(second.service);
    w.advance(RECONCILE.registrationSweepMs);
    await pass(second.service);

    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });

  it.each(CRASHES)('%s, and the job is cancelled meanwhile: no VM, nothing left', async (_name, wrap) => {
    const first = w.start(wrap);
    const job = w.job();
    const { record } = await first.service.dispatch(w.request(job), CALLER);
    await settle();
    w.forgejo.cancelJob(job.handle);

    const second = w.start();
    w.advance(RECONCILE.resumeAfterMs);
    await pass(second.service);
    w.advance(w.config.reconcile.orphan_grace + RECONCILE.registrationSweepMs);
    await pass(second.service);
    w.advance(RECONCILE.registrationSweepMs);
    await pass(second.service);

    expect((await second.store.get(record.id))?.state).toBe('cancelled');
    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });
});

async function pass(service: ReturnType<typeof w.start>['service']) {
  await service.reconcile();
  await service.drain();
}

/** Lets the first process run until it hangs (its calls are real I/O to the fake Forgejo). */
async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function hangOnTransition(store: Store, to: string): Store {
  return {
    ...bound(store),
    transition: (id, from, next, at, patch) =>
      next === to ? never() : store.transition(id, from, next, at, patch),
  };
}

function hangAfterTransition(store: Store, to: string): Store {
  return {
    ...bound(store),
    async transition(id, from, next, at, patch) {
      const result = await store.transition(id, from, next, at, patch);
      return next === to ? never() : result;
    },
  };
}

function bound(store: Store): Store {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(Object.getPrototypeOf(store) === Object.prototype ? store : {})) {
    const value = (store as unknown as Record<string, unknown>)[key];
    out[key] = typeof value === 'function' ? value.bind(store) : value;
  }
  return out as unknown as Store;
}

function withCreate(provider: Provider, create: Provider['create']): Provider {
  return { ...provider, create };
}
