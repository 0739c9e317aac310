import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { describeHealth, type ScopeState } from '../scopes/scope-state.js';

export interface OpsDeps {
  readonly scopes: readonly ScopeState[];
  /** Omitted where metrics must not be served (the webhook listener). */
  readonly registry?: Registry;
  readonly routesLoaded: () => boolean;
}

/**
 * `/healthz`: the process is up. `/readyz`: every scope polls fine; otherwise 503 naming each
 * scope's state (a rejected token shows as such while the other scopes keep working).
 * `/metrics`: Prometheus text.
 */
export function createOpsApp(deps: OpsDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const scopes: Record<string, string> = {};
    for (const state of deps.scopes) scopes[state.key] = describeHealth(state.health);
    const ok = deps.scopes.filter((s) => s.health.status === 'ok').length;
    const status = ok === deps.scopes.length ? 'ready' : ok === 0 ? 'not ready' : 'degraded';
    const dispatcher = deps.routesLoaded() ? 'ok' : 'routes not loaded';
    return c.json({ status, checks: { scopes, dispatcher } }, status === 'ready' ? 200 : 503);
  });
  const registry = deps.registry;
  if (registry) {
    app.get('/metrics', async (c) => {
      c.header('Content-Type', registry.contentType);
      return c.body(await registry.metrics());
    });
  }
  return app;
}
