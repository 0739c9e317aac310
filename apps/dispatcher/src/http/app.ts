import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import type { DispatchService } from '../service/service.js';
import { decisionView, dispatchView } from '../service/view.js';
import { type ApiClient, bearerAuth } from './auth.js';
import type { AppEnv } from './env.js';
import { ApiError } from './errors.js';
import { openApiDocument } from './openapi.js';
import {
  DispatchRequest,
  fieldErrors,
  ListDecisionsQuery,
  ListDispatchesQuery,
  ReconcileRequest,
} from './schemas.js';

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppDeps {
  readonly service: DispatchService;
  readonly clients: readonly ApiClient[];
  readonly log: Logger;
  readonly newRequestId: () => string;
  /** Prometheus text for `/metrics` (absent: 404). */
  readonly metrics?: () => Promise<string>;
  readonly metricsContentType?: string;
  /** Asks the reconciler for a pass soon. */
  readonly requestReconcile?: () => void;
}

/** The dispatch API. Tests call `app.request()` without a socket. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const openapi = openApiDocument();

  app.use(async (c, next) => {
    const requestId = deps.newRequestId();
    c.set('requestId', requestId);
    c.set('log', deps.log.child({ requestId }));
    c.header('X-Request-Id', requestId);
    await next();
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const result = await deps.service.ready(c.req.raw.signal);
    return c.json(
      { status: result.ok ? 'ready' : 'not ready', checks: result.checks },
      result.ok ? 200 : 503,
    );
  });
  app.get('/openapi.json', (c) => c.json(openapi));
  app.get('/metrics', async (c) => {
    if (!deps.metrics) throw new ApiError('not_found', 'metrics are not enabled');
    c.header('Content-Type', deps.metricsContentType ?? 'text/plain; version=0.0.4');
    return c.body(await deps.metrics());
  });

  const v1 = new Hono<AppEnv>();
  v1.use(bearerAuth(deps.clients));
  v1.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  v1.post('/dispatch', async (c) => {
    const body = await readJson(c.req.raw);
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

  v1.get('/dispatches', async (c) => {
    const parsed = ListDispatchesQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ApiError('bad_request', 'invalid query', { details: fieldErrors(parsed.error.issues) });
    }
    const page = await deps.service.list(parsed.data);
    return c.json({ items: page.items.map(dispatchView), next_cursor: page.next_cursor });
  });

  v1.get('/dispatches/:id', async (c) => c.json(dispatchView(await deps.service.get(c.req.param('id')))));

  v1.delete('/dispatches/:id', async (c) => {
    const record = await deps.service.cancel(c.req.param('id'), c.get('client'));
    return c.json(dispatchView(record));
  });

  v1.get('/dispatches/:id/why', async (c) => {
    const { text } = await deps.service.why(c.req.param('id'));
    return c.text(`${text}\n`);
  });

  v1.get('/decisions', async (c) => {
    const parsed = ListDecisionsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ApiError('bad_request', 'invalid query', { details: fieldErrors(parsed.error.issues) });
    }
    const items = await deps.service.decisions({
      limit: parsed.data.limit,
      after: parsed.data.after,
      ...(parsed.data.dispatch_id === undefined ? {} : { dispatch_id: parsed.data.dispatch_id }),
    });
    return c.json({ items: items.map(decisionView) });
  });

  v1.post('/reconcile', async (c) => {
    const text = await c.req.text();
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

  v1.get('/routes', async (c) => c.json({ routes: await deps.service.routeViews() }));

  app.route('/v1', v1);

  app.notFound(() => {
    throw new ApiError('not_found', 'no such endpoint');
  });

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (apiError.code === 'internal') {
      (c.get('log') ?? deps.log).error({ err: error.message }, 'unhandled error');
    }
    if (apiError.retryAfter !== undefined) c.header('Retry-After', String(apiError.retryAfter));
    return c.json(apiError.body(), apiError.status);
  });

  return app;
}

async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError('bad_request', 'expected Content-Type: application/json');
  }
  return parseJson(await request.text());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'request body is not valid JSON');
  }
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    return new ApiError(error.status === 413 ? 'payload_too_large' : 'bad_request', error.message);
  }
  if (error instanceof Error && error.name === 'InvalidCursorError') {
    return new ApiError('bad_request', error.message, {
      details: [{ path: 'cursor', message: error.message }],
    });
  }
  return new ApiError('internal', 'internal error');
}
