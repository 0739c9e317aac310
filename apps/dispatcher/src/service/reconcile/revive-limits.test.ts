import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRan } from '../../__fixtures__/job-ran.js';
import { lifecycleWorld, MINUTE } from '../../__fixtures__/lifecycle-world.js';
import type { DispatchService } from '../service.js';
import { RECONCILE } from './context.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld('    limits: { max_vms: 1 }');
});
afterEach(async () => {
  w.forgejo.clearFaults();
  await w.close();
});

async function pass(service: DispatchService) {
  await service.reconcile();
  await service.drain();
}

/** A dispatch whose runner registration Forgejo refused once: failed, its job still waiting. */
async function failedDispatch(service: DispatchService) {
  w.forgejo.injectFault({ method: 'POST', path: /runners/, status: 403, times: 1 });
  const { record } = await service.dispatch(w.request(w.job()), CALLER);
  await service.drain();
  expect(await service.get(record.id)).toMatchObject({ state: 'failed' });
  return record;
}

async function retries(service: DispatchService, id: string) {
  return (await service.deps.store.listDecisions({ dispatch_id: id, limit: 50 })).filter(
    (d) => d.kind === 'retry',
  );
}

describe('reviving a failed dispatch', () => {
  it('waits while the route is at its VM limit, and revives once a VM is free', async () => {
    const { service } = w.start();
    const failed = await failedDispatch(service);
    const { record: running } = await service.dispatch(w.request(w.job()), CALLER);
    await service.drain();
    expect(await service.get(running.id)).toMatchObject({ state: 'booting' });

    w.advance(RECONCILE.reviveAfterMs + 1);
    await pass(service);

    expect(await service.get(failed.id)).toMatchObject({ state: 'failed' });
    expect(await retries(service, failed.id)).toEqual([]);
    expect((await service.why(failed.id)).text).toMatch(/its job still waits, so the reconciler revives it/);

    await jobRan(w.forgejo, w.config, await service.get(running.id));
    const vm = w.vms(running.id)[0];
    if (vm) w.cloud.powerOff(vm.id);
    await pass(service);
    expect(await service.get(running.id)).toMatchObject({ state: 'finished' });
    await pass(service);

    expect(await service.get(failed.id)).toMatchObject({ state: 'booting', retries: 1 });
    expect(await retries(service, failed.id)).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/^failed dispatch revived: its job still waits/),
      }),
    ]);
    expect(w.vms()).toHaveLength(1);
  });

  it('is refused by the store when an accept took the last place after the early check', async () => {
    // The early count is read before an accept (another replica's, say) committed: it sees room.
    let stale = false;
    let staleReads = 0;
    const { service } = w.start({
      store: (store) =>
        new Proxy(store, {
          get(target, key) {
            if (key === 'countLive' && stale) {
              return async () => {
                staleReads++;
                return { total: 0, byRoute: new Map(), byScope: new Map(), byRouteScope: new Map() };
              };
            }
            const value: unknown = Reflect.get(target, key);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    const failed = await failedDispatch(service);
    const { record: running } = await service.dispatch(w.request(w.job()), CALLER);
    await service.drain();

    stale = true;
    w.advance(RECONCILE.reviveAfterMs + 1);
    await pass(service);
    stale = false;

    expect(staleReads).toBeGreaterThan(0);
    expect(await service.get(failed.id)).toMatchObject({ state: 'failed', retries: 0 });
    expect(await retries(service, failed.id)).toEqual([]);
    expect(await service.get(running.id)).toMatchObject({ state: 'booting' });
    expect(w.vms()).toHaveLength(1);
  });

  it('is not revived when its route is no longer configured; why says so', async () => {
    const first = w.start();
    const failed = await failedDispatch(first.service);
    // The operator renamed the route and restarted.
    const route = w.config.routes[0];
    if (route === undefined) throw new Error('no route');
    Object.assign(route, { name: 'renamed' });
    const { service } = w.start();

    w.advance(RECONCILE.reviveAfterMs + 1);
    await pass(service);

    expect(await service.get(failed.id)).toMatchObject({ state: 'failed' });
    expect(await retries(service, failed.id)).toEqual([]);
    expect(w.vms()).toEqual([]);
    expect((await service.why(failed.id)).text).toMatch(/not revived: route small is no longer configured/);
  });

  it('is not revived when its scope is no longer configured; why says so', async () => {
    const first = w.start();
    const failed = await failedDispatch(first.service);
    const scope = w.config.scopes[0];
    if (scope === undefined) throw new Error('no scope');
    Object.assign(scope, { key: 'org:gone' });
    const { service } = w.start();

    w.advance(RECONCILE.reviveAfterMs + 1);
    await pass(service);

    expect(await service.get(failed.id)).toMatchObject({ state: 'failed' });
    expect(await retries(service, failed.id)).toEqual([]);
    expect((await service.why(failed.id)).text).toMatch(
      /not revived: scope org:acme is no longer configured/,
    );
  });

  it('why: a queue that cannot be read, a job that left the queue, a day-old failure', async () => {
    const { service } = w.start();
    const failed = await failedDispatch(service);

    w.forgejo.injectFault({ method: 'GET', path: /jobs/, status: 403 });
    expect((await service.why(failed.id)).text).toMatch(
      /the job queue could not be read now \(.*\); if its job/,
    );
    w.forgejo.clearFaults();

    w.forgejo.cancelJob(failed.handle ?? '');
    expect((await service.why(failed.id)).text).toMatch(/not revived: its job is no longer in the queue/);

    w.advance(RECONCILE.reviveWindowMs);
    expect((await service.why(failed.id)).text).toMatch(/not revived: it failed more than 24 h ago/);
    await pass(service);
    expect(await service.get(failed.id)).toMatchObject({ state: 'failed' });
  });

  it('a manual dispatch (no handle) is never revived; why says to dispatch again', async () => {
    const { service } = w.start();
    w.forgejo.injectFault({ method: 'POST', path: /runners/, status: 403, times: 1 });
    const { record } = await service.dispatch({ scope: 'org:acme', labels: ['linux'] }, CALLER);
    await service.drain();
    expect(await service.get(record.id)).toMatchObject({ state: 'failed', handle: null });

    w.advance(10 * MINUTE);
    await pass(service);

    expect(await service.get(record.id)).toMatchObject({ state: 'failed' });
    expect((await service.why(record.id)).text).toMatch(/a manual dispatch is never revived: dispatch again/);
  });
});
