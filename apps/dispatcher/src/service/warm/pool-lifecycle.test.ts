import { describe, expect, it, vi } from 'vitest';
import { idleWarmVm, type WarmWorld, warmWorldPerTest } from '../../__fixtures__/warm-world.js';
import { RECONCILE } from '../reconcile/context.js';
import { hashSecret } from './secrets.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: WarmWorld;
warmWorldPerTest(1, (world) => {
  w = world;
});

async function pass() {
  await w.service.reconcile();
  await w.service.drain();
}

async function deleteReasons(): Promise<string[]> {
  return (await w.store.listDecisions({ limit: 100 }))
    .filter((d) => d.kind === 'delete')
    .map((d) => d.reason);
}

describe('warm agent polls', () => {
  it('an agent faster than its create answer waits a moment and gets 204; its VM stays unclaimable', async () => {
    const secret = 'agent-secret-of-a-vm-still-being-created-0123';
    await w.store.insertWarm({
      id: 'wcreating0001',
      route: 'small',
      provider: 'cloud',
      secret_hash: hashSecret(secret),
      at: w.now(),
    });

    let answered = false;
    const answer = w.service.agentPoll('wcreating0001', secret).finally(() => {
      answered = true;
    });
    for (let i = 0; i < 100 && !answered; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      w.expireHolds(); // its short wait ends
    }

    expect(await answer).toEqual({ status: 204 });
    expect(await w.store.getWarm('wcreating0001')).toMatchObject({ state: 'creating', ready_at: null });
  });

  it('an agent over its rate gets 429 after proving its secret, and its check-in is not recorded', async () => {
    await w.service.refillWarm();
    await w.service.drain();
    const { vmId, secret } = w.credentialsOf(w.warmInstances()[0]?.id ?? '');
    let admitted = 0;

    const answer = await w.service.agentPoll(vmId, secret, undefined, () => {
      admitted++;
      return false;
    });

    expect(answer).toEqual({ status: 429 });
    expect(admitted).toBe(1);
    expect(await w.store.getWarm(vmId)).toMatchObject({ state: 'booting' });
  });

  it('the agent of a VM recycled by the pool is refused like a stranger (its secret was burnt)', async () => {
    const vm = await idleWarmVm(w);
    w.advance(30 * 60_000 + 1);
    await pass();
    const retired = await w.store.getWarm(vm.vmId);
    expect(retired).toMatchObject({ state: 'retired', secret_hash: null });

    expect(await w.service.agentPoll(vm.vmId, vm.secret)).toEqual({ status: 401 });
    expect(await w.store.getWarm(vm.vmId)).toEqual(retired);
  });

  it('a poll aborted while it holds answers 204 at once', async () => {
    const vm = await idleWarmVm(w);
    const abort = new AbortController();

    const answer = w.service.agentPoll(vm.vmId, vm.secret, abort.signal);
    abort.abort();

    expect(await answer).toEqual({ status: 204 });
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'idle' });
  });
});

describe('warm pool retirement', () => {
  it('a failed provider delete keeps the VM on record; the next pass deletes and retires it', async () => {
    const vm = await idleWarmVm(w);
    w.advance(30 * 60_000 + 1);
    const remove = vi.spyOn(w.cloud.provider, 'delete').mockRejectedValueOnce(new Error('injected: 503'));

    await pass();

    expect(remove).toHaveBeenCalledWith(vm.instanceId);
    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'idle' });
    expect(w.cloud.instances.has(vm.instanceId)).toBe(true);
    expect(await deleteReasons()).toEqual([]);

    await pass();

    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired' });
    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(await deleteReasons()).toEqual([expect.stringMatching(/recycled after 30 min/)]);
  });

  it('a pool VM retired while its create was in flight is deleted as soon as the create answers', async () => {
    const create = w.cloud.provider.create.bind(w.cloud.provider);
    vi.spyOn(w.cloud.provider, 'create').mockImplementationOnce(async (spec, call) => {
      const made = await create(spec, call);
      const id = spec.tags['forgejo-fleet-warm'] ?? '';
      await w.store.updateWarm(id, ['creating'], 'retired', w.now(), { reason: 'route removed' });
      return made;
    });

    await w.service.refillWarm();
    await w.service.drain();

    const [first] = (await w.store.listDecisions({ limit: 100 })).filter((d) => d.kind === 'create');
    const instanceId = /\((i-\d+)\)/.exec(first?.reason ?? '')?.[1];
    expect(instanceId).toBeDefined();
    expect(w.cloud.instances.has(instanceId ?? '')).toBe(false);
    expect(w.cloud.calls.filter((c) => c.verb === 'delete').map((c) => c.arg)).toEqual([instanceId]);
  });

  it('a VM that powered off while idle is retired and replaced', async () => {
    const vm = await idleWarmVm(w);
    w.cloud.powerOff(vm.instanceId);
    w.advance(1_000); // the pass's list is taken after the VM was made

    await pass();

    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired', reason: 'the vm is stopped' });
    expect(w.cloud.instances.has(vm.instanceId)).toBe(false);
    expect(w.warmInstances().map((i) => i.id)).toEqual([expect.not.stringMatching(vm.instanceId)]);
  });

  it('a VM gone from the cloud is retired (its delete answers not-found) and replaced', async () => {
    const vm = await idleWarmVm(w);
    w.cloud.instances.delete(vm.instanceId);
    w.advance(1_000);

    await pass();

    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'retired', reason: 'the vm is gone' });
    expect(await deleteReasons()).toEqual([expect.stringMatching(/the vm is gone$/)]);
    expect(w.warmInstances()).toHaveLength(1);
  });

  it('a VM is not judged gone when the cloud list failed this pass', async () => {
    const vm = await idleWarmVm(w);
    w.cloud.instances.delete(vm.instanceId);
    w.advance(1_000);
    vi.spyOn(w.cloud.provider, 'list').mockRejectedValueOnce(new Error('injected: list failed'));

    await pass();

    expect(await w.store.getWarm(vm.vmId)).toMatchObject({ state: 'idle' });
  });

  it('a create a restart left unfinished is retired once it is older than the resume delay', async () => {
    await w.store.insertWarm({
      id: 'wrestarted001',
      route: 'small',
      provider: 'cloud',
      secret_hash: hashSecret('lost-secret-0123456789-0123456789-01234'),
      at: w.now(),
    });

    await pass();
    expect(await w.store.getWarm('wrestarted001')).toMatchObject({ state: 'creating' });
    // The record counts as the pool's VM meanwhile: no second one is made.
    expect(w.warmInstances()).toEqual([]);

    w.advance(RECONCILE.resumeAfterMs + 1);
    await pass();

    expect(await w.store.getWarm('wrestarted001')).toMatchObject({
      state: 'retired',
      reason: 'its create never finished (restart)',
    });
    expect(w.warmInstances()).toHaveLength(1);
  });

  it('VMs of a route whose pool was removed from the config are retired and not replaced', async () => {
    const vm = await idleWarmVm(w);
    const route = w.config.routes[0];
    if (route === undefined) throw new Error('no route');
    Object.assign(route, { warm: undefined });

    await pass();

    expect(await w.store.getWarm(vm.vmId)).toMatchObject({
      state: 'retired',
      reason: 'route small has no warm pool any more',
    });
    expect(w.cloud.instances.size).toBe(0);

    // A dispatch now goes cold.
    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();
    expect(await w.service.get(record.id)).toMatchObject({ state: 'booting' });
    expect(w.warmInstances()).toEqual([]);
  });
});
