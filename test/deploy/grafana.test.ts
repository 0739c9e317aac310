import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '@forgejo-fleet/autoscaler';
import { createDispatcherMetrics, registerHaMetrics } from '@forgejo-fleet/dispatcher';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Series Prometheus makes itself for every scrape target. */
const PROMETHEUS_OWN = ['up'];

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers,
 * grouping clauses, ranges, Grafana variables and function names are taken out.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (name === undefined || call !== undefined || PROMQL_WORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name a registry exposes, a histogram's `_bucket`, `_sum` and `_count` included. */
async function exported(registry: Registry): Promise<string[]> {
  const names: string[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') names.push(...['_bucket', '_sum', '_count'].map((s) => metric.name + s));
    else if (type === 'summary') names.push(metric.name, `${metric.name}_sum`, `${metric.name}_count`);
    else names.push(metric.name);
  }
  return names;
}

async function realNames(): Promise<Set<string>> {
  const dispatcher = createDispatcherMetrics({
    countLive: async () => ({ total: 0, byRoute: new Map(), byScope: new Map(), byRouteScope: new Map() }),
    listWarm: async () => [],
    listLive: async () => [],
  });
  // The HA series join the dispatcher's registry at start (server.ts), on SQLite too.
  registerHaMetrics(dispatcher.registry, 'leader');
  return new Set([
    ...(await exported(dispatcher.registry)),
    ...(await exported(createMetrics().registry)),
    ...PROMETHEUS_OWN,
  ]);
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(`${root}deploy/grafana/forgejo-fleet.json`, 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const found: { where: string; expr: string }[] = [];
  const walk = (panels: readonly Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? [])
        if (target.expr !== undefined) found.push({ where: `panel "${panel.title}"`, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    const inner = variable.definition?.match(/^label_values\((.*),\s*\w+\)$/)?.[1];
    if (inner !== undefined) found.push({ where: `variable $${variable.name}`, expr: inner });
  }
  return found;
}

function alertExpressions(): { where: string; expr: string }[] {
  const rules = parse(readFileSync(`${root}deploy/prometheus/alerts.yml`, 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({ where: `alert ${rule.alert ?? rule.record}`, expr: rule.expr })),
  );
}

function unknownNames(expressions: { where: string; expr: string }[], real: Set<string>): string[] {
  return expressions.flatMap(({ where, expr }) =>
    metricNames(expr)
      .filter((name) => !real.has(name))
      .map((name) => `${where}: ${name}`),
  );
}

describe('metric names in shipped PromQL', () => {
  it.each([
    [
      'sum by (route) (rate(forgejo_fleet_dispatches_total{outcome="failed"}[5m]))',
      ['forgejo_fleet_dispatches_total'],
    ],
    [
      'histogram_quantile(0.95, sum by (le, phase) (rate(x_bucket{route=~"$route"}[$__rate_interval])))',
      ['x_bucket'],
    ],
    ['time() - a_seconds > 5 * b_seconds or on (job) absent(up{job="d"})', ['a_seconds', 'b_seconds', 'up']],
    ['max by (cap) (ratio) > 0.8 and bool offset_metric', ['ratio', 'offset_metric']],
  ])('extracts the metrics of %s', (expr, names) => {
    expect(metricNames(expr).sort()).toEqual([...names].sort());
  });

  it('flags a name no registry exports', async () => {
    const unknown = unknownNames(
      [{ where: 'test', expr: 'rate(forgejo_fleet_dispatchez_total[5m])' }],
      await realNames(),
    );

    expect(unknown).toEqual(['test: forgejo_fleet_dispatchez_total']);
  });

  it('the dashboard queries only metrics the dispatcher and autoscaler export', async () => {
    const expressions = dashboardExpressions();

    expect(expressions.length).toBeGreaterThan(15);
    expect(unknownNames(expressions, await realNames())).toEqual([]);
  });

  it('the alert rules query only metrics the dispatcher and autoscaler export', async () => {
    const expressions = alertExpressions();

    expect(expressions.length).toBeGreaterThan(5);
    expect(unknownNames(expressions, await realNames())).toEqual([]);
  });
});
