import { createForgejoClient } from '@forgejo-fleet/forgejo';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRan } from '../../__fixtures__/job-ran.js';
import { lifecycleWorld, MINUTE } from '../../__fixtures__/lifecycle-world.js';
import { RECONCILE } from './context.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld();
});
afterEach(async () => {
  await w.close();
});

async function dispatched(service: ReturnType<typeof w.start>['service']) {
  const job = w.job();
  const { record } = await service.dispatch(w.request(job), CALLER);
  await service.drain();
  return { job, id: record.id };
}

function forgejoClient() {
  return createForgejoClient({
    apiUrl: w.config.forgejo.api_url,
    token: w.config.scopes[0]?.forgejo_token.reveal() ?? '',
  });
}

async function pass(service: ReturnType<typeof w.start>['service']) {
  await service.reconcile();
  await service.drain();
}

describe('pickup timeout', () => {
  it('kills a VM whose runner never took the job, gives the job one fresh VM, then gives up', async () => {
    const { service, store } = w.start();
    const { id } = await dispatched(service);
    const firstVm = w.vms(id)[0]?.id;

    w.advance(2 * MINUTE); // boot 1m + pickup 2m not yet over
    await pass(service);
    expect((await store.get(id))?.state).toBe('booting');

    w.advance(MINUTE + 1);
    await pass(service);
    expect((await store.get(id))?.state).toBe('registering');
    expect(w.vms(id)).toEqual([]);
    expect(w.registrations()).toEqual([]);

    w.advance(RECONCILE.retryBackoffMs);
    await pass(service);
    const retried = await store.get(id);
    expect(retried).toMatchObject({ state: 'booting', retries: 1 });
    expect(w.vms(id).map((vm) => vm.id)).not.toContain(firstVm);
    expect(w.vms(id)).toHaveLength(1);
    // A new name and idempotency key: the cloud may still be deleting the first VM.
    expect(w.vms(id)[0]?.name).toBe(`test-${id}-r1`);
    expect(w.registrations()).toHaveLength(1);

    w.advance(3 * MINUTE + 1);
    await pass(service);
    expect(await store.get(id)).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('gave up after 2 VMs'),
    });
    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
    const kinds = (await store.listDecisions({ dispatch_id: id, limit: 100 })).map((d) => d.kind);
    expect(kinds).toEqual(['create', 'delete', 'retry', 'create', 'delete', 'timeout']);
  });
});

describe('cancelled before pickup', () => {
  it('deletes the VM and the registration once the job leaves the queue', async () => {
    const { service, store } = w.start();
    const { job, id } = await dispatched(service);
    await pass(service);
    expect((await store.get(id))?.state).toBe('booting');

    w.forgejo.cancelJob(job.handle);
    await pass(service);

    expect(await store.get(id)).toMatchObject({ state: 'cancelled' });
    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });

  it('leaves the VM alone when the job left the queue because our runner ran it', async () => {
    const { service, store } = w.start();
    const { job, id } = await dispatched(service);
    const runner = (await store.get(id))?.runner;
    // Forgejo deletes an ephemeral runner when its task is done; the job is no longer listed.
    await forgejoClient().deleteRunner({ kind: 'org', org: 'acme' }, runner?.id ?? 0);
    w.forgejo.cancelJob(job.handle);

    await pass(service);
    expect((await store.get(id))?.state).toBe('booting');
    expect(w.vms(id)).toHaveLength(1);

    const vm = w.vms(id)[0];
    if (vm) w.cloud.powerOff(vm.id);
    await pass(service);
    expect((await store.get(id))?.state).toBe('finished');
    expect(w.vms()).toEqual([]);
  });

  it('does nothing when the job list fails: unknown is not gone', async () => {
    const { service, store } = w.start();
    const { id } = await dispatched(service);
    w.forgejo.injectFault({ method: 'GET', path: /runners\/jobs$/, status: 500, times: 10 });

    await pass(service);

    expect((await store.get(id))?.state).toBe('booting');
    expect(w.vms(id)).toHaveLength(1);
  });
});

describe('lifetime cap', () => {
  it('kills a VM past max_lifetime and says why, without a retry', async () => {
    const { service, store } = w.start();
    const { id } = await dispatched(service);
    w.advance(2 * 60 * MINUTE);

    await pass(service);

    const record = await store.get(id);
    expect(record?.state).toBe('failed');
    expect(record?.error).toMatch(/max lifetime of 120 min/);
    expect(record?.retries).toBe(0);
    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });
});

describe('finished jobs', () => {
  it('deletes a powered-off VM and the registration, and finishes the dispatch', async () => {
    const { service, store } = w.start();
    const { id } = await dispatched(service);
    await jobRan(w.forgejo, w.config, await store.get(id));
    const vm = w.vms(id)[0];
    if (vm) w.cloud.powerOff(vm.id);

    await pass(service);

    expect((await store.get(id))?.state).toBe('finished');
    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });
});

describe('a VM gone before its job started', () => {
  it('gives the still-waiting job a fresh VM instead of ending the dispatch', async () => {
    const { service, store } = w.start();
    const { id } = await dispatched(service);
    const vm = w.vms(id)[0];
    if (vm) w.cloud.powerOff(vm.id); // died while booting; its runner never ran a task

    await pass(service);
    expect(await store.get(id)).toMatchObject({ state: 'registering', retries: 1 });

    w.advance(RECONCILE.retryBackoffMs);
    await pass(service);
    expect((await store.get(id))?.state).toBe('booting');
    expect(w.vms(id)).toHaveLength(1);
    expect(w.registrations()).toHaveLength(1);
  });
});

describe('orphans', () => {
  it('deletes a VM with our fleet tag and no dispatch only after the orphan grace', async () => {
    const { service } = w.start();
    await w.cloud.provider.create({
      name: 'test-dzzzzzzzzzzzz',
      idempotencyKey: 'restored-db',
      userData: '',
      tags: { 'forgejo-fleet': 'test', 'forgejo-fleet-dispatch': 'dzzzzzzzzzzzz' },
    });
    await w.cloud.provider.create({
      name: 'someone-else',
      idempotencyKey: 'x',
      userData: '',
      tags: { owner: 'bob' },
    });

    await pass(service);
    w.advance(9 * MINUTE);
    await pass(service);
    expect(w.vms()).toHaveLength(2);

    w.advance(MINUTE);
    await pass(service);
    expect(w.vms().map((vm) => vm.name)).toEqual(['someone-else']);
  });

  it('deletes at once a VM whose dispatch already ended', async () => {
    const { service, store } = w.start();
    const { id } = await dispatched(service);
    await service.cancel(id, CALLER);
    // The cloud lost the delete: the VM is back in the list.
    await w.cloud.provider.create({
      name: 'late',
      idempotencyKey: 'late',
      userData: '',
      tags: { 'forgejo-fleet': 'test', 'forgejo-fleet-dispatch': id },
    });

    await pass(service);

    expect(w.vms()).toEqual([]);
    const last = (await store.listDecisions({ dispatch_id: id, limit: 100 })).at(-1);
    expect(last?.reason).toMatch(/orphan vm .* deleted: dispatch .* ended as cancelled/);
  });
});

describe('stale registrations', () => {
  it('deletes our registrations no dispatch holds after the grace, and never touches other runners', async () => {
    const { service } = w.start();
    const client = forgejoClient();
    const scope = { kind: 'org', org: 'acme' } as const;
    await client.registerRunner(scope, {
      name: 'test-dstalestale12',
      ephemeral: true,
      description: 'forgejo-fleet test dispatch dstalestale12',
    });
    await client.registerRunner(scope, {
      name: 'test-dmanualrunner',
      ephemeral: false,
      description: 'hand made',
    });
    await client.registerRunner(scope, {
      name: 'other-dstalestale12',
      ephemeral: true,
      description: 'forgejo-fleet other-fleet dispatch dstalestale12',
    });

    await pass(service);
    w.advance(10 * MINUTE);
    await pass(service);

    expect(
      w
        .registrations()
        .map((r) => r.name)
        .sort(),
    ).toEqual(['other-dstalestale12', 'test-dmanualrunner']);
  });
});
