import { InvalidArgumentError, StoreError } from './errors.js';
import { routeScopeKey } from './live-counts.js';
import type { LiveCounts, LiveLimits, NewDispatch } from './types.js';

export type { LiveLimits } from './types.js';

/** Which cap an insert would have overshot: all live dispatches, the route's, the route's in one scope. */
export type LiveLimitKind = keyof LiveLimits;

/**
 * `insert` with `limits` found the cap already reached, counted in the insert's own transaction:
 * nothing was written. `live` is the count it saw (at least `max`).
 */
export class LiveLimitError extends StoreError {
  override readonly name: string = 'LiveLimitError';

  constructor(
    readonly limit: LiveLimitKind,
    readonly max: number,
    readonly live: number,
    readonly route: string,
    readonly scope: string,
  ) {
    super(`${limit} limit of ${max} live dispatches reached (${live} live); nothing was written`);
  }
}

/** A cap must be a non-negative integer: 0 refuses every insert, which is a valid configuration. */
export function checkLiveLimits(limits: LiveLimits): void {
  for (const [field, max] of Object.entries(limits)) {
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 0)) {
      throw new InvalidArgumentError(`limits.${field}`, `must be a non-negative integer, got ${String(max)}`);
    }
  }
}

/**
 * The first cap the new dispatch would overshoot, checked widest first (as the dispatcher's
 * pre-check does, so a refusal names the same limit either way); undefined when all have room.
 */
export function exceededLimit(
  counts: LiveCounts,
  dispatch: Pick<NewDispatch, 'route' | 'scope'>,
  limits: LiveLimits,
): LiveLimitError | undefined {
  const checks: [LiveLimitKind, number | undefined, number][] = [
    ['total', limits.total, counts.total],
    ['route', limits.route, counts.byRoute.get(dispatch.route) ?? 0],
    [
      'routeScope',
      limits.routeScope,
      counts.byRouteScope.get(routeScopeKey(dispatch.route, dispatch.scope)) ?? 0,
    ],
  ];
  for (const [limit, max, live] of checks) {
    if (max !== undefined && live >= max) {
      return new LiveLimitError(limit, max, live, dispatch.route, dispatch.scope);
    }
  }
  return undefined;
}
