import { type DispatcherConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import type { Instance, Provider } from '@forgejo-fleet/providers';
import { FencedWriteError, type Store } from '@forgejo-fleet/store';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { memoryProvider } from '../__fixtures__/memory-provider.js';
import { fakeClock, seedAcme, sequentialIds } from '../__fixtures__/world-parts.js';
import { createLogger } from '../logger.js';
import { createDispatchService } from '../service/service.js';
import { forgejoClients } from '../wiring.js';
import { fencedStore, guardDeletes } from './fencing.js';
import { createLeaderElection, LEADER_LEASE, LeadershipLostError } from './leader.js';

/**
 * Real time on the database server decides when a lease runs out, so the lease is short; each
 * replica's own clock is virtual and moved by hand (a paused process finds its clock jumped).
 */
const TTL = 400;
const CALLER = { name: 'autoscaler', scopes: '*' as const };

describePostgres('leader fencing on PostgreSQL', (db) => {
  let forgejo: RunningFakeForgejo;
  let config: DispatcherConfig;
  const stores: Store[] = [];
  beforeEach(async () => {
    forgejo = await startFakeForgejo();
    const { token } = seedAcme(forgejo);
    config = parseDispatcherConfig(
      `
fleet_id: test
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
      { file: 'test.yaml', env: { ACME: token, CLIENT: 'client-token-0123456789' } },
    );
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await forgejo.close();
  });

  /** One dispatcher's service and leader components, wired as server.ts wires them. */
  async function replica(schema: string, holder: string, provider: Provider, newId: () => string) {
    const store = await db.open({ schema });
    stores.push(store);
    const time = fakeClock(Date.now());
    const log = createLogger('silent');
    const election = createLeaderElection({
      store,
      holder,
      ttlMs: TTL,
      renewEveryMs: TTL / 4,
      clock: time.clock,
      log,
    });
    const clients = forgejoClients(config);
    const service = createDispatchService({
      config,
      store: fencedStore(store, () => election.fence()),
      clock: time.clock,
      newId,
      log,
      forgejoFor: clients,
      providerFor: guardDeletes(() => provider, election),
      leadership: election,
    });
    return { store, election, service, time };
  }

  async function waitUntilExpired(store: Store): Promise<void> {
    await vi.waitFor(async () => expect((await store.readLease(LEADER_LEASE, 0))?.expired).toBe(true), {
      timeout: 10_000,
      interval: 20,
    });
  }

  it('a leader paused past its lease writes nothing and deletes nothing once resumed, while the new leader works', async () => {
    const schema = await db.schema();
    const cloud = memoryProvider('cloud');
    // A's view of the cloud: its reconcile pass lists, then is held at the gate (the pause).
    let gate: Promise<void> | undefined;
    let open: () => void = () => undefined;
    let listed: () => void = () => undefined;
    const reachedGate = new Promise<void>((resolve) => {
      listed = resolve;
    });
    const pausing: Provider = {
      ...cloud.provider,
      async list(tags) {
        const snapshot = (await cloud.provider.list(tags)).map(
          (i): Instance => ({ ...i, tags: { ...i.tags } }),
        );
        if (gate !== undefined) {
          listed();
          await gate;
        }
        return snapshot;
      },
    };
    const a = await replica(schema, 'a', pausing, sequentialIds());
    let n = 0;
    const b = await replica(schema, 'b', cloud.provider, () => `dz${String(++n).padStart(11, '0')}`);
    await a.election.renew();
    await b.election.renew();
    expect([a.election.role(), b.election.role()]).toEqual(['leader', 'follower']);

    // Two jobs get VMs (the API path: any replica, unfenced).
    const jobs = [1, 2].map(() => forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] }));
    const [d1, d2] = await Promise.all(
      jobs.map(async (job) => {
        const request = {
          scope: 'org:acme',
          labels: ['linux'],
          job: {
            handle: job.handle,
            id: job.id,
            attempt: job.attempt,
            repo_id: 1,
            owner_id: 1,
            name: 'build',
          },
        };
        return (await a.service.dispatch(request, CALLER)).record;
      }),
    );
    await a.service.drain();
    const vmOf = (id: string | undefined) =>
      [...cloud.instances.values()].find((i) => i.tags['forgejo-fleet-dispatch'] === id);
    const power = (id: string, state: Instance['state']) => {
      const vm = cloud.instances.get(id);
      if (vm !== undefined) cloud.instances.set(id, { ...vm, state });
    };
    const vm1 = vmOf(d1?.id);
    const vm2 = vmOf(d2?.id);
    if (d1 === undefined || d2 === undefined || vm1 === undefined || vm2 === undefined)
      throw new Error('no vms');
    const d1Transitions = (await a.store.get(d1.id))?.transitions.length;
    await a.store.insertWarm({ id: 'w1', route: 'small', provider: 'cloud', secret_hash: 'h', at: 1 });
    await a.store.updateWarm('w1', ['creating'], 'booting', 1, { instance_id: 'i-warm' });
    await a.store.updateWarm('w1', ['booting'], 'idle', 2);

    // A's pass sees vm1 powered off (its job done), then A is paused before acting on it.
    power(vm1.id, 'stopped');
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const stalePass = a.service.reconcile();
    await reachedGate;
    power(vm1.id, 'running'); // in truth it still runs its job: A's view is stale
    const staleWork = a.election.lead(async () => {
      await gate;
      const attempts = {
        transition: a.service.deps.store.transition(d1.id, ['booting'], 'failed', a.time.now(), {
          error: 'stale',
        }),
        decision: a.service.deps.store.appendDecision({
          at: a.time.now(),
          kind: 'delete',
          reason: 'stale leader',
        }),
        warm: a.service.deps.store.updateWarm('w1', ['idle'], 'retired', a.time.now(), { reason: 'stale' }),
        delete: a.service.deps.providerFor('cloud', 'org:acme').delete(vm1.id),
      };
      return Object.fromEntries(
        await Promise.all(
          Object.entries(attempts).map(async ([name, attempt]) => [
            name,
            await attempt.then(
              () => 'written',
              (e) => e,
            ),
          ]),
        ),
      );
    });

    // A stops renewing; its lease runs out on the server's clock; B takes over on its next try.
    await waitUntilExpired(b.store);
    await b.election.renew();
    expect(b.election.role()).toBe('leader');
    expect(await b.store.readLease(LEADER_LEASE, 0)).toMatchObject({ holder: 'b', epoch: 2 });

    // B works: vm2 powered off before its job started, so B's pass deletes it and gives the job
    // a fresh VM.
    power(vm2.id, 'stopped');
    await b.service.reconcile();
    await b.service.drain();
    expect((await b.store.get(d2.id))?.transitions.map((t) => t.reason)).toContain(
      'vm stopped before its job started; fresh VM 1 of 2',
    );
    expect(cloud.instances.has(vm2.id)).toBe(false);
    const decisionsBefore = await db.sql(`SELECT seq, reason FROM ${schema}.decisions ORDER BY seq`);
    const callsBefore = cloud.calls.length;

    // A resumes: its clock jumped by the pause, its pass and its writes carry on from before.
    a.time.advance(TTL * 10);
    open();
    await stalePass;
    const results = await staleWork;

    expect(results).toEqual({
      transition: expect.any(FencedWriteError),
      decision: expect.any(FencedWriteError),
      warm: expect.any(FencedWriteError),
      delete: expect.any(LeadershipLostError),
    });
    const rows = await db.sql(`SELECT id, state, error FROM ${schema}.dispatches ORDER BY id`);
    expect(rows.rows).toContainEqual({ id: d1.id, state: 'booting', error: null });
    expect((await db.sql(`SELECT state FROM ${schema}.warm_vms WHERE id = 'w1'`)).rows).toEqual([
      { state: 'idle' },
    ]);
    expect((await db.sql(`SELECT seq, reason FROM ${schema}.decisions ORDER BY seq`)).rows).toEqual(
      decisionsBefore.rows,
    );
    expect(
      (await db.sql(`SELECT count(*)::int AS n FROM ${schema}.transitions WHERE dispatch_id = $1`, [d1.id]))
        .rows,
    ).toEqual([{ n: d1Transitions }]);
    expect(cloud.calls.slice(callsBefore).filter((c) => c.verb === 'delete')).toEqual([]);
    expect(cloud.instances.has(vm1.id)).toBe(true);

    // A learns at its next renewal and follows.
    await a.election.renew();
    expect(a.election.role()).toBe('follower');
  });

  it('hands the lease over at once when the leader stops gracefully', async () => {
    const schema = await db.schema();
    const cloud = memoryProvider('cloud');
    const a = await replica(schema, 'a', cloud.provider, sequentialIds());
    const b = await replica(schema, 'b', cloud.provider, sequentialIds());
    await a.election.renew();
    await b.election.renew();

    await a.election.stop();
    await b.election.renew();

    expect(b.election.role()).toBe('leader');
    expect(await b.store.readLease(LEADER_LEASE, 0)).toMatchObject({ holder: 'b', epoch: 2, expired: false });
  });
});
