import { parseDispatcherConfig } from '@forgejo-fleet/config';
import type { PostgresStore } from '@forgejo-fleet/store';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryProvider } from '../../__fixtures__/memory-provider.js';
import { fakeClock, seedAcme } from '../../__fixtures__/world-parts.js';
import { createLogger } from '../../logger.js';
import { forgejoClients } from '../../wiring.js';
import { createDispatchService, type DispatchService } from '../service.js';
import { WARM_CLAIM_GRACE_MS, WARM_RECHECK_MS } from './claims.js';
import type { PollAnswer } from './mailbox.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

/** Resolves once `check` holds; paced by the event loop, the condition is what is awaited. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('condition never held');
}

interface Replica {
  readonly service: DispatchService;
  /** Pending timers of this replica, with their delay. */
  readonly timers: Map<() => void, number>;
}

/**
 * Dispatcher replicas on one PostgreSQL schema, one cloud and one Forgejo: a warm pool of one VM
 * on route `small`, whose agent the test plays (the user-data is `vm=<id> secret=<secret>`). Each
 * replica's timers are the test's: a held poll looks at the store only when the test fires its
 * rechecks, so who finds a claim, and when, is the test's choice.
 */
describePostgres('warm pool across replicas', (db) => {
  let forgejo: RunningFakeForgejo;
  const stores: PostgresStore[] = [];
  const replicas: Replica[] = [];

  beforeEach(async () => {
    forgejo = await startFakeForgejo();
  });

  afterEach(async () => {
    for (const replica of replicas.splice(0)) {
      for (const fn of [...replica.timers.keys()]) fn();
      await replica.service.drain();
    }
    for (const store of stores.splice(0)) await store.close();
    await forgejo.close();
  });

  async function world(count: number) {
    const { token } = seedAcme(forgejo);
    const config = parseDispatcherConfig(
      `
fleet_id: ha
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, timeout: 5s }
agent: { public_url: https://fleet.example.com:8443, hold: 20s }
providers:
  cloud: { kind: shell, command: [/bin/false], create_concurrency: 10 }
routes:
  - name: small
    labels: [linux]
    providers: [cloud]
    timeouts: { boot: 10m, pickup: 10m, job: 1h, max_lifetime: 2h }
    warm: { min_idle: 1, max_idle_age: 1h }
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
    let ids = 0;
    for (let i = 0; i < count; i++) {
      const store = await db.open({ schema });
      stores.push(store);
      const timers = new Map<() => void, number>();
      const service = createDispatchService({
        config,
        store,
        clock: time.clock,
        // One id sequence for all replicas: they share the table.
        newId: () => `d${String(++ids).padStart(12, '0')}`,
        log: createLogger('silent'),
        forgejoFor: forgejoClients(config),
        providerFor: () => cloud.provider,
        warmUserData: ({ vmId, secret }) => `vm=${vmId} secret=${secret}`,
        timer(fn, ms) {
          timers.set(fn, ms);
          return () => timers.delete(fn);
        },
      });
      replicas.push({ service, timers });
    }
    const [a] = replicas;
    if (a === undefined) throw new Error('no replica');
    const store = a.service.deps.store;

    /** Replica A fills the pool: one VM, created and booting; its agent's credentials. */
    async function warmVm() {
      await a?.service.refillWarm();
      await a?.service.drain();
      const instance = [...cloud.instances.values()].find((i) => i.tags['forgejo-fleet-warm'] !== undefined);
      const match = /^vm=(\S+) secret=(\S+)$/.exec(instance?.userData ?? '');
      if (instance === undefined || match === null) throw new Error('no warm vm');
      return { instanceId: instance.id, vmId: match[1] ?? '', secret: match[2] ?? '' };
    }

    /** The agent's poll, held on `replica` (it resolves later): waits until it holds. */
    async function heldPoll(replica: Replica, vmId: string, secret: string) {
      const answer = replica.service.agentPoll(vmId, secret);
      await until(() => [...replica.timers.values()].includes(WARM_RECHECK_MS));
      // Wrapped: an async function's promise of a promise would wait for the answer itself.
      return { answer };
    }

    /** The replica's held polls look at the store now. */
    function recheck(replica: Replica): void {
      for (const [fn, ms] of [...replica.timers]) {
        if (ms !== WARM_RECHECK_MS) continue;
        replica.timers.delete(fn);
        fn();
      }
    }

    /**
     * The poll's answer, its replica's rechecks fired until it comes (a look that lands between
     * the claim and the dispatch's move to provisioning holds on, as it would for another second).
     */
    async function answered(replica: Replica, poll: Promise<PollAnswer>): Promise<PollAnswer> {
      let done = false;
      void poll.finally(() => {
        done = true;
      });
      await until(() => {
        if (!done) recheck(replica);
        return done;
      });
      return poll;
    }

    async function dispatch(replica: Replica) {
      const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
      const { record } = await replica.service.dispatch(
        {
          scope: 'org:acme',
          labels: ['linux'],
          job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
        },
        CALLER,
      );
      await replica.service.drain();
      return record;
    }

    return { replicas, store, cloud, time, warmVm, heldPoll, answered, dispatch };
  }

  function liveRunners() {
    return forgejo.runners().filter((r) => !r.deleted);
  }

  it('a poll held on the replica that did not claim delivers the job; the VM never gets another', async () => {
    const w = await world(2);
    const [a, b] = w.replicas as [Replica, Replica];
    const vm = await w.warmVm();
    const { answer: poll } = await w.heldPoll(b, vm.vmId, vm.secret);

    const record = await w.dispatch(a);
    const waiting = await w.store.get(record.id);
    expect(waiting).toMatchObject({ state: 'provisioning', runner: null, instance_id: null });
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'claimed', dispatch_id: record.id });
    expect(liveRunners()).toEqual([]); // no runner until a replica hands the job over

    const answer = await w.answered(b, poll);
    await b.service.drain();

    expect(answer.status).toBe(200);
    const assignment = answer.status === 200 ? answer.assignment : undefined;
    const booted = await w.store.get(record.id);
    expect(booted).toMatchObject({ state: 'booting', provider: 'cloud', instance_id: vm.instanceId });
    expect(assignment?.handle).toBe(record.handle);
    expect(assignment?.runner.uuid).toBe(booted?.runner?.uuid);
    expect(liveRunners().map((r) => r.uuid)).toEqual([booted?.runner?.uuid]);
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'assigned', secret_hash: null });
    const decisions = await w.store.listDecisions({ dispatch_id: record.id, limit: 10 });
    expect(decisions.map((d) => d.kind)).toEqual(['assign']);

    // At most one job, ever: the used secret is refused on every replica.
    expect(await a.service.agentPoll(vm.vmId, vm.secret)).toEqual({ status: 401 });
    expect(await b.service.agentPoll(vm.vmId, vm.secret)).toEqual({ status: 401 });
  });

  it('polls of one VM held on two replicas find the claim at once: exactly one gets the job', async () => {
    const w = await world(3);
    const [a, b, c] = w.replicas as [Replica, Replica, Replica];
    const vm = await w.warmVm();
    const { answer: onB } = await w.heldPoll(b, vm.vmId, vm.secret);
    const { answer: onC } = await w.heldPoll(c, vm.vmId, vm.secret);

    const record = await w.dispatch(a);
    const answers = await Promise.all([w.answered(b, onB), w.answered(c, onC)]);
    await Promise.all([b.service.drain(), c.service.drain()]);

    expect(answers.map((x) => x.status).sort()).toEqual([200, 410]);
    const booted = await w.store.get(record.id);
    expect(booted).toMatchObject({ state: 'booting', instance_id: vm.instanceId });
    const winner = answers.find((x) => x.status === 200);
    expect(winner?.status === 200 ? winner.assignment.runner.uuid : '').toBe(booted?.runner?.uuid);
    expect(liveRunners()).toHaveLength(1);
    const assigns = (await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'assign');
    expect(assigns).toHaveLength(1);
  });

  it('a poll held where the claim is made rings at once, while another replica races it', async () => {
    const w = await world(2);
    const [a, b] = w.replicas as [Replica, Replica];
    const vm = await w.warmVm();
    const { answer: onA } = await w.heldPoll(a, vm.vmId, vm.secret);
    const { answer: onB } = await w.heldPoll(b, vm.vmId, vm.secret);

    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const accepted = a.service.dispatch(
      {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      },
      CALLER,
    );
    await until(async () => (await w.store.getWarm(vm.vmId))?.state !== 'idle');
    const answers = await Promise.all([onA, w.answered(b, onB)]);
    const { record } = await accepted;
    await a.service.drain();
    await b.service.drain();

    expect(answers.map((x) => x.status).sort()).toEqual([200, 410]);
    expect(await w.store.get(record.id)).toMatchObject({ state: 'booting', instance_id: vm.instanceId });
    expect(liveRunners()).toHaveLength(1);
  });

  it.each([
    ['its agent never polled', 'claimed'],
    ['the replica handing it over died after taking the VM', 'assigned'],
  ] as const)(
    'a stale claim (%s) is taken back by the leader: VM deleted, the job goes cold',
    async (_name, left) => {
      const w = await world(2);
      const [a, b] = w.replicas as [Replica, Replica];
      const vm = await w.warmVm();
      // The agent checks in once (idle), then is never heard of again.
      await w.store.updateWarm(vm.vmId, ['booting'], 'idle', w.time.now());
      const record = await w.dispatch(a);
      if (left === 'assigned') {
        expect(
          await w.store.updateWarm(vm.vmId, ['claimed'], 'assigned', w.time.now(), { burn_secret: true }),
        ).toBeDefined();
      }

      // Within the grace the leader leaves it alone…
      w.time.advance(WARM_CLAIM_GRACE_MS);
      await b.service.reconcile();
      await b.service.drain();
      expect(await w.store.get(record.id)).toMatchObject({ state: 'provisioning', runner: null });
      expect(w.cloud.instances.has(vm.instanceId)).toBe(true);

      // …after it, the VM is retired first, then the dispatch goes cold and gets a VM of its own.
      w.time.advance(1_000);
      await b.service.reconcile();
      await b.service.drain();
      const cold = await w.store.get(record.id);
      expect(cold?.state).toBe('booting');
      expect(cold?.instance_id).not.toBe(vm.instanceId);
      expect(w.cloud.instances.get(cold?.instance_id ?? '')?.tags['forgejo-fleet-dispatch']).toBe(record.id);
      expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
      expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired', secret_hash: null });
      const kinds = (await w.store.listDecisions({ dispatch_id: record.id, limit: 10 })).map((d) => d.kind);
      expect(kinds).toEqual(['delete', 'create']);
      expect(liveRunners().map((r) => r.uuid)).toEqual([cold?.runner?.uuid]);

      // The agent, back too late, gets nothing on any replica.
      expect(await a.service.agentPoll(vm.vmId, vm.secret)).toEqual({ status: 401 });
    },
  );
});
