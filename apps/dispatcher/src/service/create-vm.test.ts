import type { MachineChoice } from '@forgejo-fleet/providers';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatcherHarness } from '../__fixtures__/harness.js';
import { HEALTH } from './provider-health.js';
import { RECONCILE } from './reconcile/context.js';

const JOB = { id: 7, attempt: 1, repo_id: 1, owner_id: 3, name: 'build' };
const HETZNER: MachineChoice[] = [
  { key: 'cpx22@fsn1', machine: 'cpx22', location: 'fsn1', hourlyPrice: 0.01 },
  { key: 'cpx22@nbg1', machine: 'cpx22', location: 'nbg1', hourlyPrice: 0.01 },
  { key: 'cpx22@hel1', machine: 'cpx22', location: 'hel1', hourlyPrice: 0.012 },
];

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
afterEach(async () => {
  await h.close();
});

async function dispatchOne() {
  const job = h.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
  const res = await h.request('POST', '/v1/dispatch', {
    scope: 'org:acme',
    labels: ['linux', 'small'],
    job: { ...JOB, handle: job.handle },
  });
  const body = (await res.json()) as { id: string };
  await h.service.drain();
  return { status: res.status, id: body.id, headers: res.headers };
}

describe('fallback over providers and machine choices', () => {
  it('takes the third choice when the first two are out of capacity, and cools the two down', async () => {
    h = await dispatcherHarness({ chain: ['hetzner'], choices: { hetzner: HETZNER } });
    const cloud = h.providers.get('hetzner');
    cloud?.failChoice('cpx22@fsn1', 'capacity');
    cloud?.failChoice('cpx22@nbg1', 'capacity');

    const { id } = await dispatchOne();

    const record = await h.store.get(id);
    expect(record).toMatchObject({
      state: 'booting',
      provider: 'hetzner',
      machine: 'cpx22@hel1',
      hourly_price: 0.012,
    });
    const decisions = await h.store.listDecisions({ dispatch_id: id, limit: 10 });
    expect(decisions.map((d) => [d.kind, d.choice, d.attempt, d.error_class])).toEqual([
      ['fallback', 'cpx22@fsn1', 1, 'capacity'],
      ['fallback', 'cpx22@nbg1', 2, 'capacity'],
      ['create', 'cpx22@hel1', 3, null],
    ]);

    // The next job skips the cooled-down choices without calling them.
    const before = cloud?.calls.filter((c) => c.verb === 'create').length ?? 0;
    await dispatchOne();
    const creates = cloud?.calls.filter((c) => c.verb === 'create').slice(before);
    expect(creates?.map((c) => c.choice)).toEqual(['cpx22@hel1']);

    // After the cooldown (1m) they are tried again, first in order.
    cloud?.clearChoice('cpx22@fsn1');
    h.advance(61_000);
    const { id: third } = await dispatchOne();
    expect((await h.store.get(third))?.machine).toBe('cpx22@fsn1');
  });

  it('doubles a choice cooldown on each repeated capacity failure', async () => {
    h = await dispatcherHarness({ chain: ['hetzner'], choices: { hetzner: HETZNER.slice(0, 2) } });
    const cloud = h.providers.get('hetzner');
    cloud?.failChoice('cpx22@fsn1', 'capacity');
    await dispatchOne();
    h.advance(61_000); // 1m cooldown over
    await dispatchOne(); // fails again → 2m
    h.advance(61_000);
    const before = cloud?.calls.filter((c) => c.verb === 'create').length ?? 0;
    await dispatchOne();
    expect(
      cloud?.calls
        .filter((c) => c.verb === 'create')
        .slice(before)
        .map((c) => c.choice),
    ).toEqual(['cpx22@nbg1']);
  });

  it('moves to the next provider when the first is out of quota, and answers 503 when every choice is cooling', async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'] });
    h.providers.get('aws')?.failChoice('default', 'quota');
    h.providers.get('hetzner')?.failChoice('default', 'capacity');

    const first = await dispatchOne();
    expect((await h.store.get(first.id))?.state).toBe('failed');

    const refused = await dispatchOne();
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    h.providers.get('hetzner')?.clearChoice('default');
    h.advance(61_000);
    const later = await dispatchOne();
    expect((await h.store.get(later.id))?.provider).toBe('hetzner');
  });

  it('opens a provider circuit after a fatal answer and skips it until it half-opens', async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'] });
    const aws = h.providers.get('aws');
    aws?.failNext('fatal');

    const first = await dispatchOne();
    expect((await h.store.get(first.id))?.provider).toBe('hetzner');
    const before = aws?.calls.length ?? 0;
    await dispatchOne();
    expect(aws?.calls.length).toBe(before);
    h.advance(61_000);
    const third = await dispatchOne();
    expect((await h.store.get(third.id))?.provider).toBe('aws');
  });

  it(`opens the circuit after ${HEALTH.circuitThreshold} transient failures in a row`, async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'] });
    const aws = h.providers.get('aws');
    for (let i = 0; i < HEALTH.circuitThreshold; i++) {
      aws?.failNext('transient');
      await dispatchOne();
    }
    const before = aws?.calls.filter((c) => c.verb === 'create').length ?? 0;
    const next = await dispatchOne();
    expect(aws?.calls.filter((c) => c.verb === 'create').length).toBe(before);
    expect((await h.store.get(next.id))?.provider).toBe('hetzner');
  });

  it('waits out a rate limit and retries the same choice instead of falling through', async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'] });
    h.providers.get('aws')?.failNextWithRetryAfter('rate-limited', 2_000);
    const started = Date.parse('2026-11-23T10:00:00Z');

    const { id } = await dispatchOne();

    const record = await h.store.get(id);
    expect(record?.provider).toBe('aws');
    expect(h.providers.get('hetzner')?.calls.filter((c) => c.verb === 'create')).toEqual([]);
    expect((record?.updated_at ?? 0) - started).toBeGreaterThanOrEqual(2_000);
  });

  it('finds the VM of a create whose answer was lost, so the fallback never makes a second one', async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'] });
    h.providers.get('aws')?.loseNextAnswer();

    const { id } = await dispatchOne();

    const record = await h.store.get(id);
    expect(record).toMatchObject({ state: 'booting', provider: 'aws' });
    expect(h.providers.get('aws')?.instances.size).toBe(1);
    expect(h.providers.get('hetzner')?.instances.size).toBe(0);
    expect(h.providers.get('hetzner')?.calls).toEqual([]);
  });

  it('moves past a provider at max_instances without calling it', async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'], maxInstances: 2 });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await dispatchOne()).id);
    h.advance(1_000); // the count snapshot may be a second old

    const providers = await Promise.all(ids.map(async (id) => (await h.store.get(id))?.provider));
    expect(providers).toEqual(['aws', 'aws', 'hetzner']);
    expect(h.providers.get('aws')?.calls.filter((c) => c.verb === 'create')).toHaveLength(2);
    const third = await h.store.listDecisions({ dispatch_id: ids[2] ?? '', limit: 10 });
    expect(third[0]?.reason).toBe('provider aws is at max_instances (2); trying the next provider');
  });

  it('stops when a lost answer cannot be looked up, and the reconciler adopts the VM it made', async () => {
    h = await dispatcherHarness({ chain: ['aws', 'hetzner'] });
    const aws = h.providers.get('aws');
    aws?.loseNextAnswer();
    const list = aws?.provider.list.bind(aws.provider);
    let failLists = 1;
    Object.assign(aws?.provider ?? {}, {
      async list(tags: Record<string, string>) {
        if (failLists-- > 0) throw new Error('injected: list failed');
        return list?.(tags) ?? [];
      },
    });

    const { id } = await dispatchOne();

    expect((await h.store.get(id))?.state).toBe('provisioning');
    expect(h.providers.get('hetzner')?.calls).toEqual([]);
    h.advance(RECONCILE.resumeAfterMs);
    await h.service.reconcile();
    await h.service.drain();
    expect(await h.store.get(id)).toMatchObject({ state: 'booting', provider: 'aws' });
    expect(aws?.instances.size).toBe(1);
    expect(h.providers.get('hetzner')?.instances.size).toBe(0);
  });

  it('releases the registration when every choice fails, and records every attempt', async () => {
    h = await dispatcherHarness({ chain: ['hetzner'], choices: { hetzner: HETZNER } });
    for (const choice of HETZNER) h.providers.get('hetzner')?.failChoice(choice.key, 'capacity');

    const { id } = await dispatchOne();

    const record = await h.store.get(id);
    expect(record?.state).toBe('failed');
    expect(record?.error).toContain('cpx22@hel1: capacity');
    expect(h.forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
    const kinds = (await h.store.listDecisions({ dispatch_id: id, limit: 10 })).map((d) => d.kind);
    expect(kinds).toEqual(['fallback', 'fallback', 'fallback', 'create-failed']);
  });
});
