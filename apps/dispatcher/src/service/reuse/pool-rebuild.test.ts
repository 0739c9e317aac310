import { afterEach, describe, expect, it } from 'vitest';
import { pass, reuseWorld, type WarmOption } from './__fixtures__/test-world.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };
const MINUTE = 60_000;

let w: Awaited<ReturnType<typeof reuseWorld>>;
afterEach(async () => {
  w.expireHolds();
  await w.close();
});

/**
 * A job of route `small` runs cold (the pool has not filled yet), ends and powers off; the pass
 * that finishes it keeps its server and then refills the pool.
 */
async function jobKeptThenRefill(warm: WarmOption) {
  w = await reuseWorld({ warm });
  const { service, store } = w.start();
  const job = w.job();
  const { record } = await service.dispatch(w.request(job), CALLER);
  await service.drain();
  const first = await store.get(record.id);
  const server = w.hetzner.server(first?.instance_id ?? '');
  if (first?.runner == null || server === undefined) throw new Error('no vm was made');
  const oldToken = w.forgejo.runners().find((r) => r.id === first.runner?.id)?.token;
  if (oldToken === undefined) throw new Error('no registration');
  w.clock.advance(5 * MINUTE);
  w.jobDone(job.handle, server.id);
  await pass(service);
  const creates = () => w.hetzner.calls().filter((c) => c.method === 'POST' && c.path.endsWith('/servers'));
  const rebuilds = () => w.hetzner.calls().filter((c) => c.path.endsWith('/actions/rebuild'));
  return { service, store, first, server, oldToken, creates, rebuilds };
}

describe('paid-hour reuse for the warm pool', () => {
  it('refills the pool by rebuilding the kept server with a new agent secret, and the next job runs on it', async () => {
    const { service, store, first, server, oldToken, creates, rebuilds } = await jobKeptThenRefill({
      sameScopeOnly: false,
    });

    expect(creates()).toHaveLength(1);
    expect(rebuilds()).toHaveLength(1);
    expect(w.servers().map((s) => s.id)).toEqual([server.id]);
    const pool = await store.listWarm();
    expect(pool).toHaveLength(1);
    const vm = pool[0];
    if (vm === undefined) throw new Error('no pool vm');
    expect(vm).toMatchObject({ state: 'booting', instance_id: String(server.id), machine: first.machine });
    expect((await store.get(first.id))?.state).toBe('finished');

    // What the machine is served now: the new agent secret, nothing of the previous job.
    const secret = w.agentSecrets.get(vm.id);
    if (secret === undefined) throw new Error('no agent secret rendered');
    const userData = w.hetzner.server(server.id)?.userData ?? '';
    expect(userData).toContain(secret);
    expect(userData).toContain(vm.id);
    for (const old of [oldToken, first.runner?.uuid ?? '-', first.id, first.handle ?? '-'])
      expect(userData).not.toContain(old);
    expect(w.hetzner.server(server.id)?.labels).toMatchObject({ 'forgejo-fleet-warm': vm.id });
    expect(w.registrations().map((r) => r.id)).not.toContain(first.runner?.id);
    const reuse = (await store.listDecisions({ dispatch_id: first.id, limit: 10 })).filter(
      (d) => d.kind === 'reuse',
    );
    expect(reuse.map((d) => d.reason)).toEqual([
      expect.stringMatching(/kept for the next job/),
      expect.stringMatching(
        new RegExp(
          `warm vm ${vm.id} .*reused server ${server.id} by rebuild \\(paid hour: \\d+ min left\\); previous dispatch ${first.id}`,
        ),
      ),
    ]);

    // The machine boots; its agent checks in with the new secret and is given the next job.
    w.clock.advance(MINUTE);
    const held = service.agentPoll(vm.id, secret);
    for (let i = 0; i < 50 && (await store.getWarm(vm.id))?.state !== 'idle'; i++)
      await new Promise((resolve) => setImmediate(resolve));
    const next = w.job({ org: 'beta' });
    const { record } = await service.dispatch(w.request(next, { org: 'beta' }), CALLER);
    const answer = await held;
    await service.drain();
    expect(answer.status).toBe(200);
    const second = await store.get(record.id);
    expect(second).toMatchObject({ state: 'booting', instance_id: String(server.id) });
    expect((await store.getWarm(vm.id))?.state).toBe('assigned');
    // The handoff refilled the pool with the desk empty: that VM is created.
    expect(rebuilds()).toHaveLength(1);
    expect(creates()).toHaveLength(2);
  });

  it('creates pool VMs instead when the route keeps servers within their scope', async () => {
    const { store, server, creates, rebuilds } = await jobKeptThenRefill({ sameScopeOnly: true });

    expect(rebuilds()).toHaveLength(0);
    expect(creates()).toHaveLength(2);
    const [vm] = await store.listWarm();
    expect(vm?.state).toBe('booting');
    expect(vm?.instance_id).not.toBe(String(server.id));
    // The kept server still waits for a job of its own scope.
    expect(w.hetzner.server(server.id)?.status).toBe('off');
  });

  it('deletes the server and creates when its rebuild for the pool fails', async () => {
    w = await reuseWorld({ warm: { sameScopeOnly: false } });
    w.hetzner.injectActionFault({ command: 'rebuild_server', outcome: 'error' });
    const { service, store } = w.start();
    const job = w.job();
    const { record } = await service.dispatch(w.request(job), CALLER);
    await service.drain();
    const server = w.hetzner.server((await store.get(record.id))?.instance_id ?? '');
    if (server === undefined) throw new Error('no vm was made');
    w.clock.advance(5 * MINUTE);
    w.jobDone(job.handle, server.id);
    await pass(service);

    const rebuilds = w.hetzner.calls().filter((c) => c.path.endsWith('/actions/rebuild'));
    expect(rebuilds).toHaveLength(1);
    expect(w.servers().map((s) => s.id)).not.toContain(server.id);
    expect(w.servers()).toHaveLength(1);
    const live = await store.listWarm();
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ state: 'booting', instance_id: String(w.servers()[0]?.id) });
    const fallback = (await store.listDecisions({ dispatch_id: record.id, limit: 10 })).filter(
      (d) => d.kind === 'fallback' && d.reason.includes('rebuild'),
    );
    expect(fallback.map((d) => d.reason)).toEqual([
      expect.stringMatching(
        new RegExp(`rebuild of server ${server.id} for warm vm \\S+ failed .*deleting it; creating a new vm`),
      ),
    ]);
  });
});
