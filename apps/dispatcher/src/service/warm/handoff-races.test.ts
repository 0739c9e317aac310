import { describe, expect, it, vi } from 'vitest';
import { idleWarmVm, type WarmWorld, warmWorldPerTest } from '../../__fixtures__/warm-world.js';
import { WARM_CLAIM_GRACE_MS } from './claims.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: WarmWorld;
warmWorldPerTest(1, (world) => {
  w = world;
});

/** A poll whose hold the test ends: its timers fire until it answers. */
async function heldThenEnded(vmId: string, secret: string) {
  let done = false;
  const answer = w.service.agentPoll(vmId, secret).finally(() => {
    done = true;
  });
  for (let i = 0; i < 200 && !done; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    w.expireHolds();
  }
  return answer;
}

/** A dispatch that claimed the idle VM while no poll was held: it waits in provisioning. */
async function claimed(vmId: string) {
  const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
  await w.service.drain();
  expect(await w.service.get(record.id)).toMatchObject({ state: 'provisioning', runner: null });
  expect(await w.store.getWarm(vmId)).toMatchObject({ state: 'claimed', dispatch_id: record.id });
  return record;
}

describe('warm handoff races', () => {
  it('a poll finding a claim whose dispatch is not in provisioning yet waits; the next one gets the job', async () => {
    const vm = await idleWarmVm(w);
    const record = await claimed(vm.vmId);
    // As a claim stored on another replica just before its dispatch moves on.
    await w.store.transition(record.id, ['provisioning'], 'registering', w.now(), {});

    expect(await heldThenEnded(vm.vmId, vm.secret)).toEqual({ status: 204 });
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'claimed' });
    expect(w.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);

    await w.store.transition(record.id, ['registering'], 'provisioning', w.now(), {});
    const answer = await w.service.agentPoll(vm.vmId, vm.secret);
    await w.service.drain();

    expect(answer).toMatchObject({ status: 200, assignment: { handle: record.handle } });
    expect(await w.service.get(record.id)).toMatchObject({ state: 'booting', instance_id: vm.instanceId });
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'assigned', secret_hash: null });
  });

  it('a poll of a VM whose dispatch was cancelled meanwhile gets 410; the VM is deleted at once', async () => {
    const vm = await idleWarmVm(w);
    const record = await claimed(vm.vmId);
    await w.service.cancel(record.id, CALLER);

    expect(await w.service.agentPoll(vm.vmId, vm.secret)).toEqual({ status: 410 });
    await w.service.drain();

    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({
      state: 'retired',
      reason: `its dispatch ${record.id} no longer waits for it`,
    });
    expect(w.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
  });

  it('a dispatch cancelled while the handoff registers its runner: that runner and the VM are deleted, 410', async () => {
    const vm = await idleWarmVm(w);
    const poll = w.service.agentPoll(vm.vmId, vm.secret);
    for (let i = 0; i < 50 && (await w.store.getWarm(vm.vmId))?.ready_at === null; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const getWarm = w.store.getWarm.bind(w.store);
    let cancelling: Promise<unknown> | undefined;
    // The handoff reads the VM again right after the registration: the cancel's write lands just
    // before (the cancel then waits for the handoff to settle, as a DELETE request would).
    vi.spyOn(w.store, 'getWarm').mockImplementation(async (id) => {
      const current = await getWarm(id);
      const dispatchId = current?.dispatch_id ?? null;
      if (current?.state === 'assigned' && cancelling === undefined && dispatchId !== null) {
        cancelling = w.service.cancel(dispatchId, CALLER);
        for (let i = 0; i < 50 && (await w.store.get(dispatchId))?.state !== 'cancelled'; i++) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return getWarm(id);
    });

    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();
    await cancelling;

    expect(cancelling).toBeDefined();
    expect(await poll).toEqual({ status: 410 });
    expect(await w.service.get(record.id)).toMatchObject({ state: 'cancelled' });
    expect(w.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(await getWarm(vm.vmId)).toMatchObject({
      state: 'retired',
      reason: 'its dispatch ended or went cold before the handoff',
    });
  });
});

describe('a stale warm claim taken back', () => {
  it('a failed delete of the taken-back VM still sends the dispatch cold; the orphan sweep deletes the VM', async () => {
    const vm = await idleWarmVm(w);
    const record = await claimed(vm.vmId);
    w.advance(WARM_CLAIM_GRACE_MS + 1);
    const remove = vi.spyOn(w.cloud.provider, 'delete').mockRejectedValueOnce(new Error('injected: 503'));

    await w.service.reconcile();
    await w.service.drain();

    expect(remove).toHaveBeenCalledWith(vm.instanceId);
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({
      state: 'retired',
      reason: 'its agent never took the job it was claimed for',
    });
    const now = await w.service.get(record.id);
    expect(now).toMatchObject({ state: 'booting' });
    expect(now.instance_id).not.toBe(vm.instanceId);
    expect(w.cloud.instances.has(vm.instanceId)).toBe(true);
    // The agent that wakes up late finds nothing.
    expect((await w.poll(vm.vmId, vm.secret)).status).toBe(401);

    // The VM carries its retired pool id: the orphan sweep deletes it.
    for (let i = 0; i < 5 && w.cloud.instances.has(vm.instanceId); i++) {
      w.advance(15 * 60_000);
      await w.service.reconcile();
      await w.service.drain();
    }
    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
  });
});
