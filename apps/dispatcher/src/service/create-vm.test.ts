import type { MachineChoice } from '@forgejo-fleet/providers';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatcherHarness } from '../__fixtures__/harness.js';
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

describe('cold creates: what only a dispatch has (the table in create-vm.table.test.ts runs the shared rules)', () => {
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
