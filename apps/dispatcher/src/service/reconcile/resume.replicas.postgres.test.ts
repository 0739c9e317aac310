import { parseDispatcherConfig } from '@forgejo-fleet/config';
import type { InstanceSpec, Provider } from '@forgejo-fleet/providers';
import type { PostgresStore } from '@forgejo-fleet/store';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryProvider } from '../../__fixtures__/memory-provider.js';
import { fakeClock, seedAcme } from '../../__fixtures__/world-parts.js';
import { createLogger } from '../../logger.js';
import { forgejoClients } from '../../wiring.js';
import { HEARTBEAT_MS } from '../heartbeat.js';
import { createDispatchService, type DispatchService } from '../service.js';
import { RECONCILE } from './context.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

/** Resolves once `check` (a store read) holds; paced by those reads, no wall-clock waits. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never held');
}

/**
 * Two dispatcher replicas on one PostgreSQL schema, one cloud: a create that replica A started
 * is left alone by replica B's reconciler while A's heartbeats come, and resumed by B once they
 * stop (A died mid-create), with exactly one VM in the end.
 */
describePostgres('resuming in-flight creates across replicas', (db) => {
  let forgejo: RunningFakeForgejo;
  const stores: PostgresStore[] = [];
  const services: DispatchService[] = [];
  let openGate: () => void = () => undefined;

  beforeEach(async () => {
    forgejo = await startFakeForgejo();
  });

  afterEach(async () => {
    openGate();
    for (const service of services.splice(0)) await service.drain();
    for (const store of stores.splice(0)) await store.close();
    await forgejo.close();
  });

  it('replica A dies mid-create; B resumes only after A stopped beating; exactly one VM', async () => {
    const { token } = seedAcme(forgejo);
    const config = parseDispatcherConfig(
      `
fleet_id: ha
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, timeout: 5s }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: { forgejo_token_env: ACME }
clients:
  - { name: autoscaler, token_env: CLIENT, scopes: ['*'] }
`,
      { file: 'ha.yaml', env: { ACME: token, CLIENT: 'client-token-0123456789' } },
    );
    const schema = await db.schema();
    const cloud = memoryProvider('cloud');
    const time = fakeClock();
    // A's creates wait at this gate: A is "mid-create" until the test opens it.
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let creating: () => void = () => undefined;
    const aCreating = new Promise<void>((resolve) => {
      creating = resolve;
    });
    const gated: Provider = {
      ...cloud.provider,
      async create(spec: InstanceSpec) {
        creating();
        await gate;
        return cloud.provider.create(spec);
      },
    };
    const heartbeatsOfA = new Set<() => void>();
    async function replica(provider: Provider, timers?: Set<() => void>): Promise<DispatchService> {
      const store = await db.open({ schema });
      stores.push(store);
      let n = 0;
      const service = createDispatchService({
        config,
        store,
        clock: time.clock,
        newId: () => `d${String(++n).padStart(12, '0')}`,
        log: createLogger('silent'),
        forgejoFor: forgejoClients(config),
        providerFor: () => provider,
        timer(fn) {
          timers?.add(fn);
          return () => timers?.delete(fn);
        },
      });
      services.push(service);
      return service;
    }
    const a = await replica(gated, heartbeatsOfA);
    const b = await replica(cloud.provider);
    async function beatA(): Promise<void> {
      const before = (await b.deps.store.listLive())[0]?.updated_at;
      for (const fn of [...heartbeatsOfA]) {
        heartbeatsOfA.delete(fn);
        fn();
      }
      await until(async () => (await b.deps.store.listLive())[0]?.updated_at !== before);
    }
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });

    const { record } = await a.dispatch(
      {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      },
      CALLER,
    );
    await aCreating;
    // A lives on: it beats every HEARTBEAT_MS while B's reconciler looks, well past the grace.
    for (let t = 0; t < RECONCILE.resumeAfterMs * 2; t += HEARTBEAT_MS) {
      time.advance(HEARTBEAT_MS);
      await beatA();
    }
    await b.reconcile();
    await b.drain();

    const whileAlive = await b.get(record.id, CALLER);
    expect(whileAlive.state).toBe('provisioning');
    expect(cloud.calls.filter((c) => c.verb === 'create')).toHaveLength(0);
    expect(forgejo.runners().filter((r) => !r.deleted)).toHaveLength(1);
    const runnerOfA = forgejo.runners()[0]?.uuid;

    // A dies: no more beats. Once the grace has passed, B's reconciler resumes the dispatch.
    time.advance(RECONCILE.resumeAfterMs + 1);
    await b.reconcile();
    await b.drain();

    const resumed = await b.get(record.id, CALLER);
    expect(resumed.state).toBe('booting');
    expect(cloud.instances.size).toBe(1);
    expect(resumed.instance_id).toBe([...cloud.instances.keys()][0]);
    expect(resumed.runner?.uuid).not.toBe(runnerOfA);

    // A was only paused: its create comes back with the same VM (same idempotency key), finds
    // the dispatch taken over, and deletes only its own runner, never B's VM.
    openGate();
    await a.drain();

    const after = await b.get(record.id, CALLER);
    expect(after).toMatchObject({ state: 'booting', instance_id: resumed.instance_id });
    expect(after.runner?.uuid).toBe(resumed.runner?.uuid);
    expect(cloud.instances.size).toBe(1);
    expect(
      forgejo
        .runners()
        .filter((r) => !r.deleted)
        .map((r) => r.uuid),
    ).toEqual([resumed.runner?.uuid]);
  });
});
