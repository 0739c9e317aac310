import {
  DispatchRequest,
  ListDecisionsQuery,
  ListDispatchesQuery,
  openApiDocument,
  ReconcileRequest,
  ROUTES,
} from '@forgejo-fleet/dispatch-api';
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DispatchService } from '../service/service.js';
import { budgetView, decisionView, dispatchView } from '../service/view.js';
import { type ApiClient, bearerAuth } from './auth.js';
import { bodyText, limitBody } from './body.js';
import { closeUnreadBody } from './connection.js';
import type { AppEnv } from './env.js';
import { ApiError } from './errors.js';
import { apiErrorHandler, notFound, requestContext } from './middleware.js';
import { opsRoutes } from './ops.js';
import { on, pathParam } from './route.js';
import { fieldErrors } from './schemas.js';
import { uiRoutes } from './ui/routes.js';

export const MAX_BODY_BYTES = 64 * 1024;
const V1 = '/v1';

export interface AppDeps {
  readonly service: DispatchService;
  readonly clients: readonly ApiClient[];
  readonly log: Logger;
  readonly newRequestId: () => string;
  /** Prometheus text for `/metrics` (absent: 404). */
  readonly metrics?: () => Promise<string>;
  readonly metricsContentType?: string;
  /** Asks the reconciler for a pass soon (coalesced and spaced by `reconcile.min_gap`). */
  readonly requestReconcile?: () => void;
  /** `/healthz`, `/readyz`, `/metrics` are served by an ops listener of their own: 404 here. */
  readonly opsElsewhere?: boolean;
  /** Guards `/readyz` and `/metrics` with this bearer token (see `ops.ts`). */
  readonly opsToken?: string;
  /** The dispatcher's metrics registry: the status page's latency chart and refusal counts. */
  readonly metricsRegistry?: Registry;
  /** `ui.trust_forwarded_proto`: `X-Forwarded-Proto: https` makes the session cookie `Secure`. */
  readonly uiTrustForwardedProto?: boolean;
}

/**
 * The dispatch API. Every `/v1` endpoint acts for the authenticated client and only within its
 * scopes: another scope's dispatch answers exactly like one that does not exist. Tests call
 * `app.request()` without a socket.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Generated once from the same route definitions the handlers below are registered by.
  const openapi = openApiDocument();

  app.use(closeUnreadBody());
  app.use(requestContext(deps));

  if (!deps.opsElsewhere) {
    app.route(
      '/',
      opsRoutes({
        service: deps.service,
        log: deps.log,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.metricsContentType ? { metricsContentType: deps.metricsContentType } : {}),
        ...(deps.opsToken === undefined ? {} : { opsToken: deps.opsToken }),
      }),
    );
  }
  on(app, ROUTES.openapi, (c) => c.json(openapi));
  app.route(
    '/ui',
    uiRoutes({
      service: deps.service,
      clients: deps.clients,
      registry: deps.metricsRegistry,
      trustForwardedProto: deps.uiTrustForwardedProto ?? false,
    }),
  );

  // The client API: its handlers registered at their full paths, behind the client token.
  const v1 = new Hono<AppEnv>();
  v1.use(`${V1}/*`, bearerAuth(deps.clients));
  v1.use(
    `${V1}/*`,
    limitBody({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  on(v1, ROUTES.dispatch, async (c) => {
    const body = await readJson(c);
    const parsed = DispatchRequest.safeParse(body);
    if (!parsed.success) {
      throw new ApiError('bad_request', 'invalid dispatch request', {
        details: fieldErrors(parsed.error.issues),
      });
    }
    const { record, created } = await deps.service.dispatch(parsed.data, c.get('client'));
    c.get('log').info({ dispatchId: record.id, handle: record.handle, created }, 'dispatch');
    return c.json(dispatchView(record), created ? 202 : 200);
  });

  on(v1, ROUTES.listDispatches, async (c) => {
    const parsed = ListDispatchesQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ApiError('bad_request', 'invalid query', { details: fieldErrors(parsed.error.issues) });
    }
    const page = await deps.service.list(parsed.data, c.get('client'));
    return c.json({ items: page.items.map(dispatchView), next_cursor: page.next_cursor });
  });

  on(v1, ROUTES.getDispatch, async (c) =>
    c.json(dispatchView(await deps.service.get(pathParam(c, 'id'), c.get('client')))),
  );

  on(v1, ROUTES.cancelDispatch, async (c) => {
    const record = await deps.service.cancel(pathParam(c, 'id'), c.get('client'));
    return c.json(dispatchView(record));
  });

  on(v1, ROUTES.why, async (c) => {
    const { record, text } = await deps.service.why(pathParam(c, 'id'), c.get('client'));
    // Unknown and another scope's: the same 404, whose message still says what to check.
    if (record === undefined) throw new ApiError('not_found', text);
    return c.text(`${text}\n`);
  });

  on(v1, ROUTES.decisions, async (c) => {
    const parsed = ListDecisionsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ApiError('bad_request', 'invalid query', { details: fieldErrors(parsed.error.issues) });
    }
    const items = await deps.service.decisions(
      {
        limit: parsed.data.limit,
        after: parsed.data.after,
        ...(parsed.data.dispatch_id === undefined ? {} : { dispatch_id: parsed.data.dispatch_id }),
      },
      c.get('client'),
    );
    return c.json({ items: items.map(decisionView) });
  });

  on(v1, ROUTES.reconcile, async (c) => {
    // A pass lists every provider of every tenant: only a client of the whole fleet may ask.
    const client = c.get('client');
    if (client.scopes !== '*') {
      throw new ApiError('forbidden', `client "${client.name}" may not ask for reconcile passes (needs "*")`);
    }
    const text = await bodyText(c);
    if (text.trim() !== '') {
      const parsed = ReconcileRequest.safeParse(parseJson(text));
      if (!parsed.success) {
        throw new ApiError('bad_request', 'invalid reconcile request', {
          details: fieldErrors(parsed.error.issues),
        });
      }
      c.get('log').info({ reason: parsed.data.reason }, 'reconcile requested');
    }
    deps.requestReconcile?.();
    return c.json({ scheduled: true }, 202);
  });

  on(v1, ROUTES.routes, async (c) => c.json({ routes: await deps.service.routeViews(c.get('client')) }));

  on(v1, ROUTES.budgets, async (c) =>
    c.json({ items: (await deps.service.budgets(c.get('client'))).map(budgetView) }),
  );

  app.route('/', v1);

  app.notFound(notFound);
  app.onError(apiErrorHandler(deps.log));

  return app;
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError('bad_request', 'expected Content-Type: application/json');
  }
  return parseJson(await bodyText(c));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'request body is not valid JSON');
  }
}
