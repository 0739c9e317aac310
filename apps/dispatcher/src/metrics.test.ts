import { afterEach, describe, expect, it } from 'vitest';
import { dispatcherHarness } from './__fixtures__/harness.js';
import { createDispatcherMetrics, type MetricSources } from './metrics.js';

const MINUTE = 60_000;
const NOW = Date.parse('2026-11-23T10:00:00Z');

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
afterEach(async () => {
  await h.close();
});

/** The real service's sources at the harness clock (what `server.ts` wires). */
function sources(overrides: Partial<MetricSources> = {}): MetricSources {
  return {
    config: h.config,
    now: () => h.service.deps.clock.now(),
    reconcileIntervalMs: 15_000,
    budgets: () => h.service.budgetUse(),
    openCircuits: () => h.service.openCircuits(),
    ...overrides,
  };
}

async function values(metrics: ReturnType<typeof createDispatcherMetrics>, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

async function dispatchOne() {
  const job = h.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
  const res = await h.request('POST', '/v1/dispatch', {
    scope: 'org:acme',
    labels: ['linux', 'small'],
    job: { id: 7, attempt: 1, repo_id: 1, owner_id: 3, name: 'build', handle: job.handle },
  });
  expect(res.status).toBe(202);
  await h.service.drain();
}

describe('dispatcher fleet gauges', () => {
  it('reports each budget as the fraction of its daily cap used so far', async () => {
    h = await dispatcherHarness({
      routeLimits: 'vm_minutes_per_day: 30',
      acmeSettings: 'limits: { money_per_day: 5 }',
    });
    const metrics = createDispatcherMetrics(h.store, sources());
    await dispatchOne();

    h.advance(15 * MINUTE);
    const used = await values(metrics, 'forgejo_fleet_budget_used_ratio');

    const route = used.find((v) => v.labels.cap === 'routes.small.limits.vm_minutes_per_day');
    expect(route?.value).toBeCloseTo(0.5, 2);
    // No hourly price is configured, so the money budget is listed but nothing is spent.
    expect(used.find((v) => v.labels.cap === 'scopes.org:acme.limits.money_per_day')?.value).toBe(0);
    expect(used).toHaveLength(2);
  });

  it.each([
    { minutes: 14, overdue: [] },
    { minutes: 16, overdue: [{ labels: { route: 'small', state: 'booting' }, value: 1 }] },
  ])(
    'counts a booting dispatch as overdue only past boot + pickup + two passes ($minutes min)',
    async ({ minutes, overdue }) => {
      h = await dispatcherHarness();
      const metrics = createDispatcherMetrics(h.store, sources());
      await dispatchOne();

      h.advance(minutes * MINUTE);

      expect(await values(metrics, 'forgejo_fleet_dispatches_overdue')).toEqual(overdue);
    },
  );

  it('gives every configured provider a circuit series, 1 while open', async () => {
    h = await dispatcherHarness({ chain: ['local', 'spare'] });
    const metrics = createDispatcherMetrics(h.store, sources({ openCircuits: () => ['spare'] }));

    const circuits = await values(metrics, 'forgejo_fleet_provider_circuit_open');

    expect(circuits).toEqual([
      { labels: { provider: 'local' }, value: 0 },
      { labels: { provider: 'spare' }, value: 1 },
    ]);
  });

  it('records when the last reconcile pass ended and the reconcile interval', async () => {
    h = await dispatcherHarness();
    const metrics = createDispatcherMetrics(h.store, sources({ now: () => NOW }));

    metrics.observer.reconciled(1_200);

    expect(await values(metrics, 'forgejo_fleet_reconcile_last_pass_timestamp_seconds')).toEqual([
      { labels: {}, value: NOW / 1000 },
    ]);
    expect(await values(metrics, 'forgejo_fleet_reconcile_interval_seconds')).toEqual([
      { labels: {}, value: 15 },
    ]);
  });

  it('reads no live state without sources (event counters only)', async () => {
    h = await dispatcherHarness();
    const metrics = createDispatcherMetrics(h.store);
    await dispatchOne();
    h.advance(60 * MINUTE);

    expect(await values(metrics, 'forgejo_fleet_dispatches_overdue')).toEqual([]);
    expect(await values(metrics, 'forgejo_fleet_budget_used_ratio')).toEqual([]);
  });
});
