import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { DispatchRecord } from '@forgejo-fleet/store';
import { firstEnteredAt, RECONCILE } from './service/reconcile/context.js';
import { retryBackoff } from './service/reconcile/pickup-timeout.js';

type Route = DispatcherConfig['routes'][number];

/**
 * When a live dispatch is past the timer the reconciler enforces for its state, plus `grace`
 * (a couple of passes): before `booting` the resume delay and a whole boot timeout, in `booting`
 * the boot and pickup timeouts, in `running` the route's max lifetime. A dispatch past it means
 * the reconciler is not doing its job (stuck, failing, or not running at all).
 */
export function overdueAt(record: DispatchRecord, route: Route, graceMs: number): number {
  const { boot, pickup, max_lifetime } = route.timeouts;
  const booted = firstEnteredAt(record, 'booting') ?? record.updated_at;
  switch (record.state) {
    case 'booting':
      return booted + boot + pickup + graceMs;
    case 'running':
      return booted + max_lifetime + graceMs;
    default: {
      const retry = record.retries > 0 ? retryBackoff(record.retries) : 0;
      return record.updated_at + RECONCILE.resumeAfterMs + retry + boot + graceMs;
    }
  }
}

/** Live dispatches past their timer, by route and state (routes no longer configured are skipped). */
export function countOverdue(
  live: readonly DispatchRecord[],
  routes: readonly Route[],
  now: number,
  graceMs: number,
): Map<string, { route: string; state: string; n: number }> {
  const counts = new Map<string, { route: string; state: string; n: number }>();
  for (const record of live) {
    const route = routes.find((r) => r.name === record.route);
    if (route === undefined || now <= overdueAt(record, route, graceMs)) continue;
    const key = `${record.route}\u0000${record.state}`;
    const entry = counts.get(key) ?? { route: record.route, state: record.state, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  return counts;
}
