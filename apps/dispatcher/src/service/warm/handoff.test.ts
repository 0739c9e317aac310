import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { warmWorld } from '../../__fixtures__/warm-world.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: Awaited<ReturnType<typeof warmWorld>>;
beforeEach(async () => {
  w = await warmWorld(1);
});
afterEach(async () => {
  w.forgejo.clearFaults();
  w.expireHolds();
  await w.close();
});

/** The pool's one VM, created, with its agent checked in (idle); its credentials. */
async function idleVm() {
  await w.service.refillWarm();
  await w.service.drain();
  const instance = w.warmInstances()[0];
  const credentials = w.credentialsOf(instance?.id ?? '');
  const checkIn = w.poll(credentials.vmId, credentials.secret);
  for (let i = 0; i < 50 && (await w.store.getWarm(credentials.vmId))?.state !== 'idle'; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { ...credentials, instanceId: instance?.id ?? '', checkIn };
}

describe('warm handoff', () => {
  it('a runner registration failing after the VM was taken fails the dispatch and deletes the VM; the poll gets 410', async () => {
    const vm = await idleVm();
    w.forgejo.injectFault({ method: 'POST', path: /runners/, status: 403 });

    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();

    expect((await vm.checkIn).status).toBe(410);
    expect(await w.service.get(record.id)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/^runner registration failed/),
    });
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired', secret_hash: null });
    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(w.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
  });

  it('a dispatch cancelled while its claimed VM waits: the next pass deletes the VM, its agent gets nothing', async () => {
    const vm = await idleVm();
    w.expireHolds();
    expect((await vm.checkIn).status).toBe(204);

    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();
    expect(await w.service.get(record.id)).toMatchObject({ state: 'provisioning', runner: null });
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'claimed', dispatch_id: record.id });

    await w.service.cancel(record.id, CALLER);
    await w.service.reconcile();
    await w.service.drain();

    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired' });
    const deleted = (await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'delete');
    expect(deleted.map((d) => d.reason)).toEqual([
      expect.stringMatching(
        new RegExp(`^warm vm ${vm.vmId} .*its dispatch ${record.id} ended before taking it`),
      ),
    ]);
    expect((await w.poll(vm.vmId, vm.secret)).status).toBe(401);
    expect(w.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
  });

  it('a claim whose dispatch went on without it is deleted once the grace has passed', async () => {
    const vm = await idleVm();
    w.expireHolds();
    await vm.checkIn;
    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();
    // As a crash between the claim and the dispatch's move would leave it.
    await w.store.transition(record.id, ['provisioning'], 'registering', w.now(), {});

    await w.service.reconcile();
    await w.service.drain();
    expect(w.cloud.instances.has(vm.instanceId)).toBe(true);

    w.advance(30_001);
    await w.service.reconcile();
    await w.service.drain();
    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired' });
  });
});
