import { selectRoute } from '@forgejo-fleet/config';
import type { Logger } from 'pino';
import type { DispatcherClient, RouteInfo } from './client.js';

export type RouteMatch =
  | { readonly kind: 'match'; readonly route: string }
  | { readonly kind: 'none' }
  /** Routes not loaded yet (dispatcher unreachable since start): let the dispatcher decide. */
  | { readonly kind: 'unknown' };

/** The dispatcher's routes (`GET /v1/routes`), refreshed by the caller's loop. */
export function createRouteCache(deps: { dispatcher: DispatcherClient; log: Logger }) {
  let routes: readonly RouteInfo[] | undefined;
  let lastError: string | undefined;

  return {
    get loaded(): boolean {
      return routes !== undefined;
    },
    get lastError(): string | undefined {
      return lastError;
    },
    /** Same predicate as the dispatcher (`selectRoute`), so we skip exactly what it would refuse. */
    match(runsOn: readonly string[]): RouteMatch {
      if (routes === undefined) return { kind: 'unknown' };
      const route = selectRoute(routes, runsOn);
      return route ? { kind: 'match', route: route.name } : { kind: 'none' };
    },
    /** `attempts: 1` at start: the poll loop must not wait on a dispatcher that is down. */
    async refresh(signal?: AbortSignal, attempts?: number): Promise<void> {
      const result = await deps.dispatcher.routes(signal, attempts);
      if ('error' in result) {
        if (signal?.aborted) return;
        // Keep the last good list: the routes rarely change, the dispatcher is just unreachable.
        if (lastError !== result.error) deps.log.warn({ err: result.error }, 'cannot read dispatcher routes');
        lastError = result.error;
        return;
      }
      if (routes === undefined || JSON.stringify(routes) !== JSON.stringify(result)) {
        deps.log.info({ routes: result.map((r) => ({ name: r.name, labels: r.labels })) }, 'routes loaded');
      }
      routes = result;
      lastError = undefined;
    },
  };
}

export type RouteCache = ReturnType<typeof createRouteCache>;
