import { DispatchRequest, ReconcileRequest } from '@forgejo-fleet/dispatch-api';
import { Hono } from 'hono';

export interface DispatchSeen {
  readonly at: number;
  readonly handle: string;
  readonly scope: string;
  readonly labels: string[];
  readonly status: number;
}

/**
 * A stand-in for the dispatcher's API in-process (`fetch` calls `app.request`, no socket): idempotent
 * by handle like the real one, with a switch to play down (503 or refused connections).
 */
export function fakeDispatcher(opts: { now: () => number; routes?: { name: string; labels: string[] }[] }) {
  const routes = opts.routes ?? [{ name: 'small', labels: ['linux', 'small'] }];
  const byHandle = new Map<string, { id: string; scope: string }>();
  const requests: DispatchSeen[] = [];
  const reconciles: string[] = [];
  let mode: 'up' | 'unavailable' | 'refused' = 'up';
  let reconcileSupported = true;

  const app = new Hono();
  app.use(async (c, next) => {
    if (c.req.header('authorization') !== 'Bearer dispatcher-token') {
      return c.json({ error: { code: 'unauthorized', message: 'unknown bearer token' } }, 401);
    }
    if (mode === 'unavailable') {
      c.header('Retry-After', '5');
      return c.json({ error: { code: 'unavailable', message: 'down for maintenance' } }, 503);
    }
    await next();
  });
  app.get('/v1/routes', (c) => c.json({ routes }));
  app.post('/v1/reconcile', async (c) => {
    if (!reconcileSupported)
      return c.json({ error: { code: 'not_found', message: 'no such endpoint' } }, 404);
    reconciles.push(ReconcileRequest.parse(await c.req.json()).reason ?? '');
    return c.json({ status: 'scheduled' }, 202);
  });
  app.post('/v1/dispatch', async (c) => {
    // Checked with the contract's schema, like the real dispatcher: a body off the contract fails the test.
    const parsed = DispatchRequest.safeParse(await c.req.json());
    if (!parsed.success || parsed.data.job === undefined) {
      return c.json({ error: { code: 'bad_request', message: 'invalid dispatch request' } }, 400);
    }
    const body = { ...parsed.data, job: parsed.data.job };
    const record = (status: number) =>
      requests.push({
        at: opts.now(),
        handle: body.job.handle,
        scope: body.scope,
        labels: body.labels,
        status,
      });
    const route = routes.find((r) => body.labels.every((l) => r.labels.includes(l)));
    if (!route) {
      record(422);
      return c.json(
        { error: { code: 'no_route', message: `no route takes labels [${body.labels.join(', ')}]` } },
        422,
      );
    }
    const existing = byHandle.get(body.job.handle);
    if (existing && existing.scope !== body.scope) {
      record(409);
      return c.json({ error: { code: 'conflict', message: 'other scope' } }, 409);
    }
    if (existing) {
      record(200);
      return c.json({ id: existing.id, route: route.name }, 200);
    }
    const id = `d-${byHandle.size + 1}`;
    byHandle.set(body.job.handle, { id, scope: body.scope });
    record(202);
    return c.json({ id, route: route.name }, 202);
  });

  const fetchImpl: typeof fetch = async (input, init) => {
    if (mode === 'refused') {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    }
    return app.request(String(input), init as RequestInit);
  };

  return {
    url: 'http://127.0.0.1:9',
    fetch: fetchImpl,
    requests,
    reconciles,
    created: () => requests.filter((r) => r.status === 202),
    setMode(next: 'up' | 'unavailable' | 'refused') {
      mode = next;
    },
    setReconcileSupported(value: boolean) {
      reconcileSupported = value;
    },
  };
}

export type FakeDispatcher = ReturnType<typeof fakeDispatcher>;
