import { timingSafeEqual } from 'node:crypto';
import { ROUTES } from '@forgejo-fleet/dispatch-api';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { DispatchService } from '../service/service.js';
import { digest } from './auth.js';
import { closeUnreadBody } from './connection.js';
import type { AppEnv } from './env.js';
import { ApiError } from './errors.js';
import { apiErrorHandler, notFound, requestContext } from './middleware.js';
import { on } from './route.js';

export interface OpsDeps {
  readonly service: Pick<DispatchService, 'ready'>;
  readonly log: Logger;
  /** Prometheus text for `/metrics` (absent: 404). */
  readonly metrics?: () => Promise<string>;
  readonly metricsContentType?: string;
  /** When set, `/readyz` and `/metrics` need `Authorization: Bearer <token>`. */
  readonly opsToken?: string;
}

/**
 * `/healthz`, `/readyz` and `/metrics`: mounted on the API listener, or on an ops listener of
 * their own (`ops.listen`). `/healthz` says only "up" and stays open for liveness probes; the
 * other two say something about the fleet, so an ops token guards them when one is configured.
 */
export function opsRoutes(deps: OpsDeps): Hono<AppEnv> {
  const ops = new Hono<AppEnv>();
  const guard: MiddlewareHandler<AppEnv> =
    deps.opsToken === undefined ? (_c, next) => next() : opsAuth(deps.opsToken);

  on(ops, ROUTES.healthz, (c) => c.json({ status: 'ok' }));
  ops.use(ROUTES.readyz.path, guard);
  on(ops, ROUTES.readyz, async (c) => {
    const result = await deps.service.ready(c.req.raw.signal);
    // Only "ok" or "failing" per check: an upstream's error text (a URL, a proxy's page) stays in
    // the log, where the operator reads it, and out of an answer anyone on the network may get.
    const checks: Record<string, 'ok' | 'failing'> = {};
    for (const [name, state] of Object.entries(result.checks)) {
      checks[name] = state === 'ok' ? 'ok' : 'failing';
      if (state !== 'ok') c.get('log').warn({ check: name, state }, 'readiness check failing');
    }
    // The role is one of two fixed words: which replica leads is for operators and load balancers.
    return c.json(
      { status: result.ok ? 'ready' : 'not ready', role: result.role, checks },
      result.ok ? 200 : 503,
    );
  });
  ops.use(ROUTES.metrics.path, guard);
  on(ops, ROUTES.metrics, async (c) => {
    if (!deps.metrics) throw new ApiError('not_found', 'metrics are not enabled');
    c.header('Content-Type', deps.metricsContentType ?? 'text/plain; version=0.0.4');
    return c.body(await deps.metrics());
  });
  return ops;
}

/** The ops listener (`ops.listen`): the ops routes and nothing else. */
export function createOpsApp(deps: OpsDeps & { readonly newRequestId: () => string }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(closeUnreadBody());
  app.use(requestContext(deps));
  app.route('/', opsRoutes(deps));
  app.notFound(notFound);
  app.onError(apiErrorHandler(deps.log));
  return app;
}

/** The ops bearer token, compared in constant time (hashes have equal lengths). */
function opsAuth(token: string): MiddlewareHandler<AppEnv> {
  const expected = digest(token);
  return async (c, next) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw new ApiError('unauthorized', 'missing or wrong ops token (Authorization: Bearer <ops token>)');
    }
    await next();
  };
}
