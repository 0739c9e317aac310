import type { Provider } from '@forgejo-fleet/providers';
import type { Store } from '@forgejo-fleet/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { never } from '../../__fixtures__/lifecycle-world.js';
import { RECONCILE } from '../reconcile/context.js';
import { pass, reuseWorld, type Wrappers } from './__fixtures__/test-world.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };
const MINUTE = 60_000;

/** Each boundary of a reuse: how the first process dies while it rebuilds a kept server. */
const CRASHES: [string, Wrappers][] = [
  ['after the claim is stored, before the rebuild call', { provider: (p) => withRebuild(p, () => never()) }],
  [
    'while the rebuild runs in the cloud',
    {
      provider: (p) =>
        withRebuild(p, (id, spec) => {
          void p.rebuild?.(id, spec).catch(() => undefined);
          return never();
        }),
    },
  ],
  [
    'after the rebuild, before the record update',
    {
      provider: (p) =>
        withRebuild(p, async (id, spec) => {
          await p.rebuild?.(id, spec);
          return never();
        }),
    },
  ],
  ['after the record update', { store: (s) => hangAfterTransition(s, 'booting') }],
];

let w: Awaited<ReturnType<typeof reuseWorld>>;
beforeEach(async () => {
  w = await reuseWorld();
});
afterEach(async () => {
  await w.close();
});

describe('crash and restart during a rebuild for reuse', () => {
  it.each(CRASHES)('%s: one machine for the job, nothing left once it ends', async (_name, wrap) => {
    // A first job ends on a clean process and keeps its server.
    const clean = w.start();
    const firstJob = w.job();
    const { record: first } = await clean.service.dispatch(w.request(firstJob), CALLER);
    await clean.service.drain();
    const serverId = Number((await clean.store.get(first.id))?.instance_id);
    w.clock.advance(5 * MINUTE);
    w.jobDone(firstJob.handle, serverId);
    await pass(clean.service);
    expect((await clean.store.get(first.id))?.state).toBe('finished');

    // The process that rebuilds it for the next job dies at the boundary.
    const dying = w.start(wrap);
    await pass(dying.service); // its desk learns the kept server from the cloud
    const job = w.job();
    const { record } = await dying.service.dispatch(w.request(job), CALLER);
    await settle();

    const restarted = w.start();
    w.clock.advance(RECONCILE.resumeAfterMs);
    await pass(restarted.service);
    await pass(restarted.service);

    const resumed = await restarted.store.get(record.id);
    expect(resumed?.state).toBe('booting');
    expect(resumed?.instance_id).toBe(String(serverId));
    expect(w.servers().filter((s) => s.labels['forgejo-fleet-handle'] === job.handle)).toHaveLength(1);
    expect(w.servers()).toHaveLength(1);
    expect(w.hetzner.server(serverId)?.rebuilds).toHaveLength(1);

    // The job runs and powers off; the server is kept, then deleted before its next paid hour.
    w.clock.advance(5 * MINUTE);
    w.jobDone(job.handle, serverId);
    await pass(restarted.service);
    expect((await restarted.store.get(record.id))?.state).toBe('finished');
    const created = w.hetzner.server(serverId)?.createdAt ?? 0;
    w.clock.advance(created + 51 * MINUTE - w.clock.now()); // 9 min of its paid hour left
    await pass(restarted.service);
    expect(w.servers()).toEqual([]);
    w.clock.advance(w.config.reconcile.orphan_grace + RECONCILE.registrationSweepMs);
    await pass(restarted.service);
    w.clock.advance(RECONCILE.registrationSweepMs);
    await pass(restarted.service);

    expect(w.servers()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });
});

/** Lets the dying process run until it hangs (its calls are real I/O to the fakes). */
async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 100));
}

function withRebuild(provider: Provider, rebuild: NonNullable<Provider['rebuild']>): Provider {
  return { ...provider, rebuild };
}

function hangAfterTransition(store: Store, to: string): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'transition') {
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: Parameters<Store['transition']>) => {
        const result = await target.transition(...args);
        return args[2] === to ? never() : result;
      };
    },
  });
}
