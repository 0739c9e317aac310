import type { MachineChoice } from '@forgejo-fleet/providers';
import { afterEach, describe, expect, it } from 'vitest';
import { ACME_CI_TOKEN, dispatcherHarness } from '../__fixtures__/harness.js';

const JOB = { id: 7, attempt: 1, repo_id: 1, owner_id: 3, name: 'build' };
const CHOICES: MachineChoice[] = [
  { key: 'cpx22@fsn1', machine: 'cpx22', location: 'fsn1' },
  { key: 'cpx22@nbg1', machine: 'cpx22', location: 'nbg1', hourlyPrice: 0.02 },
];

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
afterEach(async () => {
  await h.close();
});

describe('GET /v1/dispatches/{id}/why', () => {
  it('explains route, credentials, limits, budgets, attempts, timers and the next step', async () => {
    h = await dispatcherHarness({
      chain: ['hetzner'],
      choices: { hetzner: CHOICES },
      routeLimits: 'vm_minutes_per_day: 600',
    });
    h.providers.get('hetzner')?.failChoice('cpx22@fsn1', 'capacity');
    const job = h.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const res = await h.request('POST', '/v1/dispatch', {
      scope: 'org:acme',
      labels: ['linux', 'small'],
      job: { ...JOB, handle: job.handle },
    });
    const { id } = (await res.json()) as { id: string };
    await h.service.drain();

    for (const key of [id, job.handle]) {
      const why = await h.request('GET', `/v1/dispatches/${key}/why`);
      expect(why.status).toBe(200);
      expect(why.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await why.text();
      expect(text).toContain(`dispatch ${id} for job handle ${job.handle}`);
      expect(text).toContain('state: booting');
      expect(text).toContain('route: small');
      expect(text).toContain(
        'scope: org:acme; Forgejo credentials: scopes."org:acme".forgejo_token (token from env:ACME)',
      );
      expect(text).toContain('route small: 1 of 100 live VMs');
      expect(text).toMatch(
        /budget routes\.small\.limits\.vm_minutes_per_day: 0 VM-minutes of 600 used today/,
      );
      expect(text).toMatch(/fallback attempt 1 hetzner cpx22@fsn1 \[capacity\]/);
      expect(text).toMatch(/create attempt 2 hetzner cpx22@nbg1 ~0\.02\/h: vm i-1 created/);
      expect(text).toMatch(/hetzner cpx22@fsn1 cooling down until/);
      expect(text).toMatch(/pickup deadline .*2026-11-23T10:15:00\.000Z/);
      expect(text).toMatch(/next: waiting for the runner to pick up the job/);
      for (const secret of h.secrets) expect(text).not.toContain(secret);
    }
  });

  it('says when a failed dispatch whose job still waits is revived, and that it is not once the job left', async () => {
    h = await dispatcherHarness();
    h.provider.failNext('capacity');
    const job = h.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const res = await h.request('POST', '/v1/dispatch', {
      scope: 'org:acme',
      labels: ['linux', 'small'],
      job: { ...JOB, handle: job.handle },
    });
    const { id } = (await res.json()) as { id: string };
    await h.service.drain();
    expect((await h.store.get(id))?.state).toBe('failed');

    const waiting = await (await h.request('GET', `/v1/dispatches/${id}/why`)).text();
    expect(waiting).toMatch(
      /next: the dispatch failed .*; its job still waits, so the reconciler revives it at its first pass from \S+ \(in 30 s\)/,
    );

    h.forgejo.cancelJob(job.handle);
    const gone = await (await h.request('GET', `/v1/dispatches/${id}/why`)).text();
    expect(gone).toMatch(/next: the dispatch failed .*; not revived: its job is no longer in the queue/);
  });

  it('shows a scoped client its caps but not how many VMs the other scopes run', async () => {
    h = await dispatcherHarness();
    const job = h.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const res = await h.request('POST', '/v1/dispatch', {
      scope: 'org:acme',
      labels: ['linux', 'small'],
      job: { ...JOB, handle: job.handle },
    });
    const { id } = (await res.json()) as { id: string };
    await h.service.drain();

    const everyScope = await (await h.request('GET', `/v1/dispatches/${id}/why`)).text();
    const ownScope = await (
      await h.request('GET', `/v1/dispatches/${id}/why`, undefined, ACME_CI_TOKEN)
    ).text();

    expect(everyScope).toContain('route small: 1 of 100 live VMs');
    expect(ownScope).toContain('route small: at most 100 live VMs (use shown to "*" clients)');
    expect(ownScope).toContain('global: at most 1000 live VMs');
    expect(ownScope).not.toMatch(/\d+ of \d+ live VMs/);
  });

  it('answers 404 that says what to check when no dispatch exists for a handle', async () => {
    h = await dispatcherHarness();
    const why = await h.request('GET', '/v1/dispatches/3f0c9a58-0000-4000-8000-000000000000/why');
    expect(why.status).toBe(404);
    const body = (await why.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toMatch(/no dispatch for 3f0c9a58-.*the autoscaler has not asked/s);
  });

  it('needs a token', async () => {
    h = await dispatcherHarness();
    expect((await h.request('GET', '/v1/dispatches/x/why', undefined, null)).status).toBe(401);
  });
});
