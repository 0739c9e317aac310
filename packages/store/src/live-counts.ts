import type { LiveCounts } from './types.js';

/** One row of the GROUP BY (route, scope) aggregate over live dispatches. */
export interface LiveGroup {
  readonly route: string;
  readonly scope: string;
  readonly n: number;
}

/** The key of `LiveCounts.byRouteScope`: NUL cannot occur in a route or scope name. */
export function routeScopeKey(route: string, scope: string): string {
  return `${route}\u0000${scope}`;
}

/** SQL counts per (route, scope); the per-route and per-scope sums are folded from those few rows. */
export function foldLiveGroups(groups: readonly LiveGroup[]): LiveCounts {
  let total = 0;
  const byRoute = new Map<string, number>();
  const byScope = new Map<string, number>();
  const byRouteScope = new Map<string, number>();
  for (const { route, scope, n } of groups) {
    total += n;
    byRoute.set(route, (byRoute.get(route) ?? 0) + n);
    byScope.set(scope, (byScope.get(scope) ?? 0) + n);
    byRouteScope.set(routeScopeKey(route, scope), n);
  }
  return { total, byRoute, byScope, byRouteScope };
}
