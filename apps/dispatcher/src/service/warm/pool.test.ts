import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRan } from '../../__fixtures__/job-ran.js';
import { warmWorld } from '../../__fixtures__/warm-world.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: Awaited<ReturnType<typeof warmWorld>>;
beforeEach(async () => {
  w = await warmWorld(3);
});
afterEach(async () => {
  w.expireHolds();
  await w.close();
});

/** Boots the pool: creates its VMs and lets each agent check in (their polls stay held). */
async function bootPool() {
  await w.service.refillWarm();
  await w.service.drain();
  const polls = new Map<string, Promise<Response>>();
  for (const instance of w.warmInstances()) {
    const { vmId, secret } = w.credentialsOf(instance.id);
    if ((await w.store.getWarm(vmId))?.state !== 'booting') continue;
    polls.set(instance.id, Promise.resolve(w.poll(vmId, secret)));
  }
  // Let the check-ins land before any job arrives.
  for (let i = 0; i < 50 && (await w.store.listWarm()).some((vm) => vm.state === 'booting'); i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return polls;
}

describe('warm pool', () => {
  it('gives 3 of a burst of 10 jobs to the 3 warm VMs and 7 to cold creates, refills to 3, leaks nothing', async () => {
    const polls = await bootPool();
    expect(polls.size).toBe(3);
    expect((await w.store.listWarm()).map((vm) => vm.state)).toEqual(['idle', 'idle', 'idle']);
    const warmIds = new Set(w.warmInstances().map((i) => i.id));

    const jobs = Array.from({ length: 10 }, () => w.job());
    const results = await Promise.all(jobs.map((job) => w.service.dispatch(w.request(job), CALLER)));
    await w.service.drain();

    const records = await Promise.all(results.map((r) => w.service.get(r.record.id)));
    expect(records.every((r) => r.state === 'booting')).toBe(true);
    const onWarm = records.filter((r) => r.instance_id !== null && warmIds.has(r.instance_id));
    expect(onWarm).toHaveLength(3);
    expect(records.filter((r) => !warmIds.has(r.instance_id ?? ''))).toHaveLength(7);
    // No VM serves two dispatches.
    expect(new Set(records.map((r) => r.instance_id)).size).toBe(10);

    // Each held poll got exactly its own dispatch's job: the runner and the handle.
    for (const record of onWarm) {
      const answer = await polls.get(record.instance_id ?? '');
      expect(answer?.status).toBe(200);
      const body = (await answer?.json()) as { handle: string; runner: { uuid: string; token: string } };
      expect(body.handle).toBe(record.handle);
      expect(body.runner.uuid).toBe(record.runner?.uuid);
      expect(body.runner.token).toMatch(/\S{10,}/);
    }
    const kinds = await Promise.all(
      records.map(async (r) =>
        (await w.store.listDecisions({ dispatch_id: r.id, limit: 10 })).map((d) => d.kind),
      ),
    );
    expect(kinds.filter((k) => k.includes('assign'))).toHaveLength(3);
    expect(kinds.filter((k) => k.join() === 'fallback,create')).toHaveLength(7);
    const why = await Promise.all(records.map(async (r) => (await w.service.why(r.id)).text));
    expect(why.filter((t) => t.includes('vm: from the warm pool'))).toHaveLength(3);
    expect(why.filter((t) => t.includes('vm: cold create (the warm pool had no idle VM)'))).toHaveLength(7);

    // A used secret is never accepted again: a VM gets at most one job, ever.
    for (const record of onWarm) {
      const { vmId, secret } = w.credentialsOf(record.instance_id ?? '');
      expect((await w.poll(vmId, secret)).status).toBe(401);
    }

    // The pool refilled to 3 while the jobs ran.
    await w.service.drain();
    const pool = (await w.store.listWarm()).filter((vm) =>
      ['creating', 'booting', 'idle'].includes(vm.state),
    );
    expect(pool).toHaveLength(3);

    // The jobs run and end (Forgejo drops the queue entry and the ephemeral runner); the VMs
    // power off; every one of them and every registration goes.
    for (const record of records) {
      await jobRan(w.forgejo, w.config, record);
      w.cloud.powerOff(record.instance_id ?? '');
    }
    await w.service.reconcile();
    await w.service.drain();
    expect((await Promise.all(records.map((r) => w.service.get(r.id)))).map((r) => r.state)).toEqual(
      Array(10).fill('finished'),
    );
    expect(w.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
    const left = [...w.cloud.instances.values()];
    expect(left).toHaveLength(3);
    expect(left.every((i) => i.tags['forgejo-fleet-warm'] !== undefined)).toBe(true);
    expect(
      (await w.store.listWarm()).filter((vm) => vm.state === 'claimed' || vm.state === 'assigned'),
    ).toEqual([]);
  });

  it('kills a warm VM whose agent never checks in after the boot timeout, and replaces it', async () => {
    await w.service.refillWarm();
    await w.service.drain();
    const first = w.warmInstances().map((i) => i.id);

    w.advance(2 * 60_000 + 1);
    await w.service.reconcile();
    await w.service.drain();

    const now = w.warmInstances().map((i) => i.id);
    expect(now).toHaveLength(3);
    expect(now.filter((id) => first.includes(id))).toEqual([]);
    const retired = (await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'delete');
    expect(retired).toHaveLength(3);
    expect(retired[0]?.reason).toMatch(/agent never checked in within 2 min/);
  });

  it('recycles an idle VM after max_idle_age', async () => {
    const polls = await bootPool();
    w.expireHolds();
    await Promise.all(polls.values());
    w.advance(30 * 60_000 + 1);
    await w.service.reconcile();
    await w.service.drain();
    const reasons = (await w.store.listDecisions({ limit: 100 }))
      .filter((d) => d.kind === 'delete')
      .map((d) => d.reason);
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toMatch(/recycled after 30 min/);
    expect(w.warmInstances()).toHaveLength(3);
  });

  it('never overshoots the target when refills overlap', async () => {
    await Promise.all(Array.from({ length: 5 }, () => w.service.refillWarm()));
    await w.service.drain();
    expect(w.warmInstances()).toHaveLength(3);
  });

  it('shows the pool in GET /v1/routes data', async () => {
    await bootPool();
    const [route] = await w.service.routeViews();
    expect(route?.warm).toEqual({ target: 3, idle: 3, booting: 0 });
  });
});

describe('hourly billing', () => {
  it('retires an idle VM shortly before it would start another paid hour', async () => {
    w.expireHolds();
    await w.close();
    w = await warmWorld(1, 'max_idle_age: 3h, paid_hour_only: true');
    const polls = await bootPool();
    w.expireHolds();
    await Promise.all(polls.values());

    w.advance(54 * 60_000);
    await w.service.reconcile();
    await w.service.drain();
    expect((await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'delete')).toEqual([]);

    w.advance(2 * 60_000); // 56 min: inside the last 5 minutes of the paid hour
    await w.service.reconcile();
    await w.service.drain();
    const deleted = (await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'delete');
    expect(deleted.map((d) => d.reason)).toEqual([expect.stringMatching(/idle at the end of its paid hour/)]);
    expect(w.warmInstances()).toHaveLength(1);
  });

  it('counts the paid hour from the server, which for a server rebuilt from a kept one is older than its pool record', async () => {
    w.expireHolds();
    await w.close();
    w = await warmWorld(1, 'max_idle_age: 3h, paid_hour_only: true');
    const polls = await bootPool();
    w.expireHolds();
    await Promise.all(polls.values());
    // The server was created 40 minutes before this pool VM's record (a rebuilt kept server).
    const [server] = w.warmInstances();
    if (server === undefined) throw new Error('no pool vm');
    w.cloud.instances.set(server.id, { ...server, createdAt: w.now() - 40 * 60_000 });

    w.advance(16 * 60_000); // the record is 16 min old, the server 56 min: its hour is ending
    await w.service.reconcile();
    await w.service.drain();
    const deleted = (await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'delete');
    expect(deleted.map((d) => d.reason)).toEqual([expect.stringMatching(/idle at the end of its paid hour/)]);
  });
});

describe('agent endpoint bad input: 4xx and no state change', () => {
  it.each([
    ['wrong secret', 401, 'wrong', undefined],
    ['no bearer', 401, '', undefined],
    ['unknown vm (answered like a wrong secret)', 401, 'same', JSON.stringify({ vm_id: 'waaaaaaaaaaaa' })],
    ['malformed body', 400, 'same', '{"vm_id":'],
    ['bad vm id', 400, 'same', JSON.stringify({ vm_id: '../etc' })],
    ['extra fields', 400, 'same', JSON.stringify({ vm_id: 'waaaaaaaaaaaa', x: 1 })],
    ['oversize body', 413, 'same', JSON.stringify({ vm_id: 'w'.repeat(5000) })],
  ])('%s → %i', async (_name, status, secretKind, body) => {
    await w.service.refillWarm();
    await w.service.drain();
    const instance = w.warmInstances()[0];
    const { vmId, secret } = w.credentialsOf(instance?.id ?? '');
    const before = await w.store.listWarm();

    const presented = secretKind === 'wrong' ? `${secret.slice(0, -4)}AAAA` : secretKind === '' ? '' : secret;
    const res = await w.poll(vmId, presented, body);

    expect(res.status).toBe(status);
    expect(await w.store.listWarm()).toEqual(before);
  });

  it('a reused secret gets 401 (like any wrong secret) and changes nothing', async () => {
    const polls = await bootPool();
    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();
    const instanceId = (await w.service.get(record.id)).instance_id ?? '';
    expect((await polls.get(instanceId))?.status).toBe(200);
    const { vmId, secret } = w.credentialsOf(instanceId);
    const before = await w.store.listWarm();

    expect((await w.poll(vmId, secret)).status).toBe(401);
    expect(await w.store.listWarm()).toEqual(before);
  });

  it('rate-limits one source polling in a loop with a wrong secret', async () => {
    await w.service.refillWarm();
    await w.service.drain();
    const { vmId } = w.credentialsOf(w.warmInstances()[0]?.id ?? '');
    const statuses = [];
    for (let i = 0; i < 44; i++) statuses.push((await w.poll(vmId, 'x'.repeat(43))).status);
    expect(statuses.slice(0, 40)).toEqual(Array(40).fill(401));
    expect(statuses.slice(40)).toEqual([429, 429, 429, 429]);
  });
});
