import { afterEach, describe, expect, it } from 'vitest';
import { dispatcherHarness } from '../__fixtures__/harness.js';

const JOB = { id: 7, attempt: 1, repo_id: 1, owner_id: 3, name: 'build' };

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
afterEach(async () => {
  await h.close();
});

async function dispatch(scope = 'org:acme') {
  const repo = scope === 'org:acme' ? 'acme/web' : 'alice/site';
  const job = h.forgejo.enqueueJob({ repo, name: 'build', runsOn: ['linux'] });
  const res = await h.request('POST', '/v1/dispatch', {
    scope,
    labels: ['linux', 'small'],
    job: { ...JOB, handle: job.handle },
  });
  await h.service.drain();
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('daily budgets', () => {
  it('refuses with 429 naming the route VM-minute cap and when it resets, once the day is spent', async () => {
    h = await dispatcherHarness({ routeLimits: 'vm_minutes_per_day: 30' });
    expect((await dispatch()).status).toBe(202);
    h.advance(31 * 60_000); // the VM has run 31 minutes today

    const refused = await dispatch();

    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      error: {
        code: 'limit_reached',
        message: expect.stringMatching(
          /budget routes\.small\.limits\.vm_minutes_per_day is spent \(31 VM-minutes of 30 today\); it resets at 2026-11-24T00:00:00\.000Z/,
        ),
        details: {
          limit: 'routes.small.limits.vm_minutes_per_day',
          cap: 30,
          resets_at: '2026-11-24T00:00:00.000Z',
        },
      },
    });
    // 10:31 → midnight UTC
    expect(refused.headers.get('retry-after')).toBe(String(13 * 3600 + 29 * 60));
    const refusal = (await h.store.listDecisions({ limit: 10 })).find((d) => d.kind === 'refusal');
    expect(refusal?.reason).toMatch(/vm_minutes_per_day is spent/);
  });

  it('counts money per scope from the hourly price of the machine used, and only for that scope', async () => {
    h = await dispatcherHarness({
      choices: { local: [{ key: 'big', machine: 'big', hourlyPrice: 6 }] },
      acmeSettings: 'limits: { money_per_day: 1 }',
    });
    expect((await dispatch()).status).toBe(202);
    h.advance(11 * 60_000); // 11 min at 6/h = 1.1

    const refused = await dispatch();
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      error: { details: { limit: 'scopes.org:acme.limits.money_per_day' } },
    });
    expect((await dispatch('user:alice')).status).toBe(202);
  });

  it('opens again at midnight UTC', async () => {
    h = await dispatcherHarness({ routeLimits: 'vm_minutes_per_day: 30' });
    const first = await dispatch();
    h.advance(31 * 60_000);
    expect((await dispatch()).status).toBe(429);
    await h.request('DELETE', `/v1/dispatches/${first.body.id}`);

    h.advance(14 * 3600_000);

    expect((await dispatch()).status).toBe(202);
  });
});
