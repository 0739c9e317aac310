import type { Registry } from 'prom-client';

export const PHASE_METRIC = 'forgejo_fleet_dispatch_phase_seconds';
/** The phases in the order a dispatch reaches them (metrics.ts names them). */
const PHASE_ORDER = ['accepted', 'registered', 'created', 'running', 'finished'];

export interface PhaseLatency {
  readonly phase: string;
  readonly count: number;
  readonly sum: number;
  /** Cumulative counts per upper bound (seconds, ascending; +Inf last). */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
}

/**
 * The phase histogram read from the registry object (not its text output), summed over routes
 * and providers: one cumulative bucket list per phase. Empty when the metric is absent.
 */
export async function phaseLatencies(registry: Registry | undefined): Promise<PhaseLatency[]> {
  const metric = registry?.getSingleMetric(PHASE_METRIC);
  if (!metric) return [];
  const phases = new Map<string, { count: number; sum: number; buckets: Map<number, number> }>();
  for (const value of (await metric.get()).values) {
    const phase = String(value.labels.phase ?? '');
    const entry = phases.get(phase) ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
    phases.set(phase, entry);
    // Histogram values carry the series name (`_bucket`, `_sum`, `_count`).
    const name = 'metricName' in value ? String(value.metricName) : '';
    if (name.endsWith('_bucket')) {
      const le = value.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(value.labels.le);
      entry.buckets.set(le, (entry.buckets.get(le) ?? 0) + value.value);
    } else if (name.endsWith('_count')) entry.count += value.value;
    else if (name.endsWith('_sum')) entry.sum += value.value;
  }
  return [...phases.entries()]
    .filter(([, e]) => e.count > 0)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([phase, e]) => ({
      phase,
      count: e.count,
      sum: e.sum,
      buckets: [...e.buckets.entries()].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count })),
    }));
}

function rank(phase: string): number {
  const i = PHASE_ORDER.indexOf(phase);
  return i === -1 ? PHASE_ORDER.length : i;
}

/**
 * The q-quantile estimated from cumulative buckets the way Prometheus' histogram_quantile does:
 * linear inside the bucket it falls in; the highest finite bound when it falls in +Inf.
 */
export function quantile(latency: PhaseLatency, q: number): number {
  const target = q * latency.count;
  let lower = 0;
  let below = 0;
  for (const { le, count } of latency.buckets) {
    if (count >= target) {
      if (!Number.isFinite(le)) return lower;
      const inBucket = count - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (target - below)) / inBucket;
    }
    lower = Number.isFinite(le) ? le : lower;
    below = count;
  }
  return lower;
}
