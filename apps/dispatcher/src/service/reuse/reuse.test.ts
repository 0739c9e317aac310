import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pass, reuseWorld } from './__fixtures__/test-world.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };
const MINUTE = 60_000;

let w: Awaited<ReturnType<typeof reuseWorld>>;
beforeEach(async () => {
  w = await reuseWorld();
});
afterEach(async () => {
  await w.close();
});

/** Runs one job to its end on a fresh process: dispatched, booted, done, powered off, kept. */
async function firstJobKept(service: ReturnType<typeof w.start>['service']) {
  const job = w.job();
  const { record } = await service.dispatch(w.request(job), CALLER);
  await service.drain();
  const booted = await service.deps.store.get(record.id);
  const server = w.hetzner.server(booted?.instance_id ?? '');
  if (booted?.runner == null || server === undefined) throw new Error('no vm was made');
  w.clock.advance(5 * MINUTE);
  w.jobDone(job.handle, server.id);
  await pass(service);
  return { record: booted, server, runner: booted.runner };
}

describe('paid-hour reuse by rebuild', () => {
  it('rebuilds the kept server for the next job: old registration deleted first, no old secret in the new user-data', async () => {
    const order: string[] = [];
    const { service } = w.start({
      forgejo: (c): ForgejoClient => ({
        ...c,
        async deleteRunner(scope, id) {
          const result = await c.deleteRunner(scope, id);
          order.push(`registration ${id} deleted`);
          return result;
        },
      }),
      provider: (p): Provider => ({
        ...p,
        async rebuild(id, spec) {
          order.push(`rebuild ${id}`);
          if (p.rebuild === undefined) throw new Error('no rebuild');
          return p.rebuild(id, spec);
        },
      }),
    });
    const first = await firstJobKept(service);
    expect((await service.deps.store.get(first.record.id))?.state).toBe('finished');
    expect(w.registrations().map((r) => r.id)).not.toContain(first.runner.id);
    expect(w.servers().map((s) => s.id)).toEqual([first.server.id]);
    const oldToken = w.forgejo.runners().find((r) => r.id === first.runner.id)?.token;
    const oldUserData = first.server.userData ?? '';
    expect(oldToken).toBeDefined();
    expect(oldUserData).toContain(oldToken);

    const job = w.job();
    const { record } = await service.dispatch(w.request(job), CALLER);
    await service.drain();

    const second = await service.deps.store.get(record.id);
    expect(second?.state).toBe('booting');
    expect(second?.instance_id).toBe(String(first.server.id));
    expect(w.servers()).toHaveLength(1);
    const server = w.hetzner.server(first.server.id);
    expect(server?.rebuilds).toHaveLength(1);
    const newUserData = server?.userData ?? '';
    const newToken = w.forgejo.runners().find((r) => r.id === second?.runner?.id)?.token ?? 'none';
    expect(newUserData).toContain(newToken);
    expect(newUserData).toContain(job.handle);
    expect(newUserData).not.toContain(oldToken);
    expect(newUserData).not.toContain(first.runner.uuid);
    expect(newUserData).not.toContain(first.record.id);
    expect(server?.labels['forgejo-fleet-dispatch']).toBe(record.id);
    expect(order).toEqual([`registration ${first.runner.id} deleted`, `rebuild ${first.server.id}`]);

    const why = await service.why(record.id, CALLER);
    expect(why.text).toMatch(
      new RegExp(
        `vm: reused server ${first.server.id} by rebuild \\(paid hour: 54 min left\\); previous dispatch ${first.record.id}`,
      ),
    );
    const decisions = await service.deps.store.listDecisions({ dispatch_id: record.id, limit: 100 });
    expect(decisions.map((d) => d.kind)).toEqual(['reuse']);
    expect(decisions[0]?.reason).toContain(`previous dispatch ${first.record.id}`);
  });

  it.each([
    ['another route', { runsOn: ['arm'] }, { labels: ['arm'] }],
    ['another scope', { org: 'beta' }, { org: 'beta' }],
  ])('never gives the kept server to a job of %s', async (_name, job, request) => {
    const { service } = w.start();
    const first = await firstJobKept(service);

    const queued = w.job(job);
    const { record } = await service.dispatch(w.request(queued, request), CALLER);
    await service.drain();

    const other = await service.deps.store.get(record.id);
    expect(other?.state).toBe('booting');
    expect(other?.instance_id).not.toBe(String(first.server.id));
    expect(w.hetzner.server(first.server.id)?.rebuilds).toEqual([]);
    expect(w.servers()).toHaveLength(2);
  });

  it('deletes the kept server before its next paid hour when no job takes it', async () => {
    const { service } = w.start();
    const first = await firstJobKept(service);
    const created = first.server.createdAt;

    w.clock.advance(created + 49 * MINUTE - w.clock.now());
    await pass(service);
    expect(w.servers()).toHaveLength(1);
    w.clock.advance(2 * MINUTE);
    await pass(service);

    expect(w.servers()).toEqual([]);
    const decisions = await service.deps.store.listDecisions({ dispatch_id: first.record.id, limit: 100 });
    expect(decisions.at(-1)?.reason).toMatch(
      /^kept vm \d+ deleted: no job took it; its paid hour has 9 min left$/,
    );
  });

  it('does not keep a server whose paid hour has less than min_left left', async () => {
    const { service } = w.start();
    const job = w.job();
    const { record } = await service.dispatch(w.request(job), CALLER);
    await service.drain();
    const server = w.hetzner.server((await service.deps.store.get(record.id))?.instance_id ?? '');
    if (server === undefined) throw new Error('no vm');
    w.clock.advance(52 * MINUTE);
    w.jobDone(job.handle, server.id);
    await pass(service);

    expect(w.servers()).toEqual([]);
    expect((await service.deps.store.get(record.id))?.transitions.at(-1)?.reason).toBe('instance stopped');
  });

  it('falls back to a new server when the rebuild action fails, and deletes the old one', async () => {
    const { service } = w.start();
    const first = await firstJobKept(service);
    w.hetzner.injectActionFault({ command: 'rebuild_server', outcome: 'error' });

    const { record } = await service.dispatch(w.request(w.job()), CALLER);
    await service.drain();

    const second = await service.deps.store.get(record.id);
    expect(second?.state).toBe('booting');
    expect(second?.instance_id).not.toBe(String(first.server.id));
    expect(w.servers().map((s) => String(s.id))).toEqual([second?.instance_id]);
    const kinds = (await service.deps.store.listDecisions({ dispatch_id: record.id, limit: 100 })).map(
      (d) => d.kind,
    );
    expect(kinds).toEqual(['fallback', 'delete', 'create']);
  });

  it('a restarted dispatcher finds the kept server by its tag and reuses it', async () => {
    const { service } = w.start();
    const first = await firstJobKept(service);
    const restarted = w.start().service;
    await pass(restarted); // the desk of a new process is filled from the cloud and the store

    const { record } = await restarted.dispatch(w.request(w.job()), CALLER);
    await restarted.drain();

    expect((await restarted.deps.store.get(record.id))?.instance_id).toBe(String(first.server.id));
    expect(w.servers()).toHaveLength(1);
  });
});
