import { type Provider, ProviderError } from '@forgejo-fleet/providers';
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

type Service = ReturnType<typeof w.start>['service'];

/** Runs one job to its end: dispatched, booted, done, powered off; its server is kept. */
async function firstJobKept(service: Service) {
  const job = w.job();
  const { record } = await service.dispatch(w.request(job), CALLER);
  await service.drain();
  const booted = await service.deps.store.get(record.id);
  const server = w.hetzner.server(booted?.instance_id ?? '');
  if (server === undefined) throw new Error('no vm was made');
  w.clock.advance(5 * MINUTE);
  w.jobDone(job.handle, server.id);
  await pass(service);
  expect(w.servers().map((s) => s.id)).toEqual([server.id]);
  return server;
}

async function decisions(service: Service, id: string) {
  return (await service.deps.store.listDecisions({ dispatch_id: id, limit: 50 })).map(
    (d) => `${d.kind}: ${d.reason}`,
  );
}

describe('paid-hour reuse: a rebuild that does not go through', () => {
  it('a rebuild that times out: the kept server is deleted and the job gets a new one', async () => {
    const { service } = w.start({
      provider: (p): Provider => ({
        ...p,
        async rebuild() {
          throw new ProviderError('hetzner', 'transient', 'rebuild timed out after 60 s');
        },
      }),
    });
    const kept = await firstJobKept(service);

    const { record } = await service.dispatch(w.request(w.job()), CALLER);
    await service.drain();

    const now = await service.deps.store.get(record.id);
    expect(now).toMatchObject({ state: 'booting' });
    expect(now?.instance_id).not.toBe(String(kept.id));
    expect(w.servers().map((s) => String(s.id))).toEqual([now?.instance_id]);
    expect(await decisions(service, record.id)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^fallback: rebuild of server ${kept.id} failed \\(.*timed out.*\\); deleting it; creating a new vm`,
        ),
      ),
    );
  });

  it('a dispatch cancelled while its kept server is rebuilt: the server and the registration go', async () => {
    let cancelling: Promise<unknown> | undefined;
    let service: Service | undefined;
    const started = w.start({
      provider: (p): Provider => ({
        ...p,
        async rebuild(id, spec) {
          if (p.rebuild === undefined || service === undefined) throw new Error('no rebuild');
          const rebuilt = await p.rebuild(id, spec);
          const live = (await service.deps.store.listLive()).find((r) => r.state === 'provisioning');
          if (live !== undefined) {
            // The cancel's write lands while the rebuild's answer is on its way.
            cancelling = service.cancel(live.id, CALLER);
            for (let i = 0; i < 50 && (await service.deps.store.get(live.id))?.state !== 'cancelled'; i++) {
              await new Promise((resolve) => setImmediate(resolve));
            }
          }
          return rebuilt;
        },
      }),
    });
    service = started.service;
    await firstJobKept(service);

    const { record } = await service.dispatch(w.request(w.job()), CALLER);
    await service.drain();
    await cancelling;

    expect(cancelling).toBeDefined();
    expect(await service.deps.store.get(record.id)).toMatchObject({ state: 'cancelled' });
    expect(await decisions(service, record.id)).toContainEqual(
      expect.stringMatching(/^reuse: .*; the dispatch ended meanwhile, deleting it$/),
    );
    expect(w.servers()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });
});
