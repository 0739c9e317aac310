import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dispatcherHarness } from '../__fixtures__/harness.js';
import { jobRan } from '../__fixtures__/job-ran.js';

const JOB = { id: 7, attempt: 1, repo_id: 1, owner_id: 3, name: 'build' };

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
afterEach(async () => {
  await h.close();
});

async function dispatch(handle: string | undefined, scope = 'org:acme', labels = ['linux']) {
  const res = await h.request('POST', '/v1/dispatch', {
    scope,
    labels,
    ...(handle === undefined ? {} : { job: { ...JOB, handle } }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

function queue(runsOn = ['linux']) {
  return h.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn });
}

describe('dispatching a job', () => {
  beforeEach(async () => {
    h = await dispatcherHarness();
  });

  it('registers an ephemeral runner in the job scope and creates one VM with its user-data', async () => {
    const job = queue();
    const { status, body } = await dispatch(job.handle);
    expect(status).toBe(202);
    expect(body.state).toBe('accepted');
    await h.service.drain();

    const record = await h.store.get(String(body.id));
    expect(record?.state).toBe('booting');
    expect(record?.transitions.map((t) => t.state)).toEqual([
      'accepted',
      'registering',
      'provisioning',
      'booting',
    ]);
    const runners = h.forgejo.runners();
    expect(runners).toHaveLength(1);
    expect(runners[0]).toMatchObject({
      name: `test-${body.id}`,
      ephemeral: true,
      ownerId: h.acmeId,
      repoId: 0,
    });
    const [instance] = h.provider.instances.values();
    expect(instance?.userData).toContain(`--handle '${job.handle}'`);
    expect(instance?.tags).toMatchObject({ 'forgejo-fleet': 'test', 'forgejo-fleet-dispatch': body.id });
    for (const secret of h.secrets) expect(instance?.userData).not.toContain(secret);
  });

  it('answers 200 with the same dispatch for a repeated handle, and 50 concurrent repeats make one VM', async () => {
    const job = queue();
    const results = await Promise.all(Array.from({ length: 50 }, () => dispatch(job.handle)));
    await h.service.drain();
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(49);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(h.provider.calls.filter((c) => c.verb === 'create')).toHaveLength(1);
    expect(h.forgejo.runners()).toHaveLength(1);
  });

  it('refuses the same handle for another scope with 409 and writes nothing', async () => {
    const job = queue();
    await dispatch(job.handle);
    const before = await h.store.list({ limit: 10 });
    const { status, body } = await dispatch(job.handle, 'user:alice');
    expect(status).toBe(409);
    expect(body).toMatchObject({ error: { code: 'conflict' } });
    expect(await h.store.list({ limit: 10 })).toEqual(before);
  });

  it('fails the dispatch without a VM when Forgejo refuses the registration', async () => {
    h.forgejo.injectFault({ method: 'POST', path: /actions\/runners$/, status: 403 });
    const { body } = await dispatch(queue().handle);
    await h.service.drain();
    const record = await h.store.get(String(body.id));
    expect(record?.state).toBe('failed');
    expect(record?.error).toMatch(/runner registration failed: .*403/);
    expect(h.provider.calls).toEqual([]);
  });

  it('deletes the registration when every provider fails, and then answers 503 with Retry-After', async () => {
    h.provider.failNext('capacity');
    const { body } = await dispatch(queue().handle);
    await h.service.drain();
    const record = await h.store.get(String(body.id));
    expect(record?.state).toBe('failed');
    expect(record?.error).toContain(
      'every provider choice failed: local default: capacity: local: injected capacity',
    );
    expect(h.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);

    const next = await dispatch(queue().handle);
    expect(next.status).toBe(503);
    expect(next.headers.get('retry-after')).toBe('60');
    h.advance(61_000);
    expect((await dispatch(queue().handle)).status).toBe(202);
  });

  it('answers a cancel during an in-flight create only once the VM it made is deleted', async () => {
    const create = h.provider.provider.create.bind(h.provider.provider);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    Object.assign(h.provider.provider, {
      async create(spec: Parameters<typeof create>[0]) {
        await gate;
        return create(spec);
      },
    });
    const { body } = await dispatch(queue().handle);
    for (let i = 0; i < 50 && (await h.store.get(String(body.id)))?.state !== 'provisioning'; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }

    const cancelling = h.request('DELETE', `/v1/dispatches/${body.id}`);
    setTimeout(release, 100); // the create answers well after the cancel's own work is done
    const res = await cancelling;

    // At the moment the cancel answers, the VM the create made has been made and deleted.
    expect(res.status).toBe(200);
    expect(h.provider.calls.map((c) => c.verb)).toEqual(['create', 'delete']);
    expect(h.provider.instances.size).toBe(0);
    expect(h.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
  });

  it('cancels: deletes the VM and the registration', async () => {
    const { body } = await dispatch(queue().handle);
    await h.service.drain();
    const res = await h.request('DELETE', `/v1/dispatches/${body.id}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { state: string }).state).toBe('cancelled');
    expect(h.provider.instances.size).toBe(0);
    expect(h.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
    expect((await h.request('DELETE', `/v1/dispatches/${body.id}`)).status).toBe(200);
  });

  it('finishes a dispatch whose VM powered off and deletes what is left', async () => {
    const job = queue();
    const { body } = await dispatch(job.handle);
    await h.service.drain();
    const id = String(body.id);
    const record = await h.store.get(id);
    await jobRan(h.forgejo, h.config, record);
    h.provider.powerOff(record?.instance_id ?? '');
    await h.service.reconcile();
    const finished = await h.store.get(id);
    expect(finished?.state).toBe('finished');
    expect(h.provider.instances.size).toBe(0);
    expect(h.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
  });

  it('never logs a token', async () => {
    await dispatch(queue().handle);
    await h.service.drain();
    await h.request('POST', '/v1/dispatch', { scope: 'org:acme', labels: ['linux'] }, 'wrong-token-value');
    const logs = h.logs();
    expect(logs).toContain('dispatch');
    for (const secret of [...h.secrets, 'wrong-token-value']) expect(logs).not.toContain(secret);
  });
});

describe('limits', () => {
  beforeEach(async () => {
    h = await dispatcherHarness({ maxVms: 2 });
  });

  it('answers 429 with Retry-After and the cap when the route is full', async () => {
    await dispatch(queue().handle);
    await dispatch(queue().handle);
    const third = await dispatch(queue().handle);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('30');
    expect(third.body).toMatchObject({
      error: { code: 'limit_reached', details: { limit: 'routes.limits.max_vms' } },
    });
  });

  it('holds the cap under concurrent requests for different jobs', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => dispatch(queue().handle)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(2);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(8);
  });
});

describe('the global limit', () => {
  beforeEach(async () => {
    h = await dispatcherHarness({ globalMaxVms: 1 });
  });

  it('counts live VMs across routes and scopes', async () => {
    expect((await dispatch(queue().handle)).status).toBe(202);
    const second = await dispatch(queue().handle, 'user:alice', ['linux', 'gpu']);
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({
      error: { code: 'limit_reached', details: { limit: 'limits.max_vms' } },
    });
  });
});

describe('provider chain', () => {
  beforeEach(async () => {
    h = await dispatcherHarness({ chain: ['first', 'second'] });
  });

  it('falls back to the next provider when the first is out of capacity', async () => {
    h.providers.get('first')?.failNext('capacity');
    const { body } = await dispatch(queue().handle);
    await h.service.drain();
    const record = await h.store.get(String(body.id));
    expect(record).toMatchObject({ state: 'booting', provider: 'second' });
    // The first is cooling down: the next job goes straight to the second.
    const next = await dispatch(queue().handle);
    await h.service.drain();
    expect((await h.store.get(String(next.body.id)))?.provider).toBe('second');
    expect(h.providers.get('first')?.calls.filter((c) => c.verb === 'create')).toHaveLength(1);
  });
});
