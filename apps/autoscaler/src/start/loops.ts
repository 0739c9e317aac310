import { type Clock, every, type Loop } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import type { RouteCache } from '../dispatch/route-cache.js';
import type { HookManager } from '../webhook/manager.js';

/** How often managed hooks are checked and repaired (also once at start). */
export const HOOK_CHECK_INTERVAL_MS = 10 * 60_000;
/** Routes are retried this often while they could never be read. */
export const ROUTES_RETRY_MS = 5_000;

/**
 * The background loops besides the pollers: hook repair (at once, then every interval) and the
 * routes refresh (every `routes_refresh`; while routes were never read, a one-attempt retry every
 * ROUTES_RETRY_MS). All stop when `signal` aborts.
 */
export function startBackgroundLoops(deps: {
  readonly hooks: HookManager | undefined;
  readonly hookCheckIntervalMs: number;
  readonly routes: RouteCache;
  readonly routesRefreshMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly signal: AbortSignal;
}): Loop[] {
  const { hooks, routes, clock, log, signal } = deps;
  const loops: Loop[] = [];
  if (hooks) {
    loops.push(
      every(deps.hookCheckIntervalMs, (s) => hooks.ensureAll(s), {
        name: 'webhooks',
        clock,
        log,
        signal,
        immediate: true,
      }),
    );
  }
  let retrying = false;
  loops.push(
    every(
      () => (routes.loaded ? deps.routesRefreshMs : ROUTES_RETRY_MS),
      async (s) => {
        await (retrying ? routes.refresh(s, 1) : routes.refresh(s));
        retrying = !routes.loaded;
      },
      // Read once before the first poll: run at once only when that failed.
      { name: 'routes', clock, log, signal, immediate: !routes.loaded },
    ),
  );
  return loops;
}
