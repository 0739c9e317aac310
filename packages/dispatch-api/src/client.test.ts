import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createDispatchApiClient, type DispatchApiClientOptions } from './client.js';
import type { Dispatch, DispatchRequest } from './schemas.js';

const BODY: DispatchRequest = {
  scope: 'org:acme',
  labels: ['linux'],
  job: {
    handle: '6f1c1a6e-4d3b-4b8e-9a55-0d6f3f0e2b11',
    id: 1,
    attempt: 1,
    repo_id: 2,
    owner_id: 3,
    name: 'build',
  },
};

const DISPATCH: Dispatch = {
  id: 'd1',
  handle: BODY.job?.handle ?? null,
  scope: 'org:acme',
  labels: ['linux'],
  route: 'small',
  client: 'ci',
  state: 'booting',
  job: BODY.job ?? null,
  runner: null,
  provider: 'local',
  instance_id: 'i-1',
  error: null,
  machine: null,
  retries: 0,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:01.000Z',
  transitions: [{ state: 'accepted', at: '2026-01-01T00:00:00.000Z' }],
};

type Answer = () => Response | Promise<Response>;

/** The client against a hono app answering from `answers` (the last one repeats); 599 = no answer. */
function world(answers: Answer[], overrides: Partial<DispatchApiClientOptions> = {}) {
  const sleeps: number[] = [];
  const seen: {
    method: string;
    url: string;
    auth: string | undefined;
    accept: string | undefined;
    body: unknown;
  }[] = [];
  const attempts: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const app = new Hono();
  app.all('*', async (c) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    seen.push({
      method: c.req.method,
      url: c.req.url,
      auth: c.req.header('authorization'),
      accept: c.req.header('accept'),
      body: c.req.method === 'POST' ? await c.req.json() : null,
    });
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    const next = answers.length > 1 ? answers.shift() : answers[0];
    if (!next) throw new Error('no answer');
    return next();
  });
  const client = createDispatchApiClient({
    url: 'http://127.0.0.1:9/',
    token: 'tok',
    timeoutMs: 1000,
    concurrency: 2,
    clock: {
      now: () => Date.UTC(2026, 0, 1),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
    random: () => 0,
    fetch: async (url, init) => {
      const res = await app.request(url, init);
      if (res.status === 599) throw new TypeError('fetch failed');
      return res;
    },
    onAttempt: (route, status) => attempts.push(`${route} ${status}`),
    ...overrides,
  });
  return { client, sleeps, seen, attempts, maxInFlight: () => maxInFlight };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  () =>
    Response.json(body, { status, headers });
const refusal = (status: number, code: string) =>
  json(status, { error: { code, message: `${code} happened` } });

describe('dispatch API client', () => {
  it('sends the bearer token and the body; 202 and 200 are both an accepted dispatch', async () => {
    const { client, seen } = world([json(202, DISPATCH), json(200, { id: 'd1' })]);

    const first = await client.dispatch(BODY);
    const again = await client.dispatch(BODY);

    expect(first).toEqual({ ok: true, status: 202, value: { id: 'd1', route: 'small' } });
    expect(again).toEqual({ ok: true, status: 200, value: { id: 'd1' } });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:9/v1/dispatch',
      auth: 'Bearer tok',
      body: BODY,
    });
  });

  it.each([
    [422, 'no_route'],
    [409, 'conflict'],
    [400, 'bad_request'],
    [403, 'forbidden'],
    [501, 'not_implemented'],
  ])('answers %i as refused (%s) without asking again', async (status, code) => {
    const { client, seen } = world([refusal(status, code)]);

    const result = await client.dispatch(BODY);

    expect(result).toEqual({ ok: false, kind: 'refused', status, code, message: `${code} happened` });
    expect(seen).toHaveLength(1);
  });

  it('keeps the details of a 400', async () => {
    const details = [{ path: 'labels', message: 'expected at least one label' }];
    const { client } = world([json(400, { error: { code: 'bad_request', message: 'invalid', details } })]);

    expect(await client.dispatch({ ...BODY, labels: [] })).toMatchObject({ kind: 'refused', details });
  });

  it('retries 503, 429 (honouring Retry-After) and network errors with backoff, then succeeds', async () => {
    const { client, sleeps, attempts } = world([
      refusal(503, 'unavailable'),
      json(429, { error: { code: 'limit_reached', message: 'full' } }, { 'retry-after': '7' }),
      () => new Response(null, { status: 599 }),
      json(202, { id: 'd2' }),
    ]);

    expect(await client.dispatch(BODY)).toMatchObject({ ok: true, value: { id: 'd2' } });
    // random() = 0: half of 500, 1000, 2000 ms; Retry-After 7 s wins over 500 ms.
    expect(sleeps).toEqual([250, 7_000, 1_000]);
    expect(attempts).toEqual(['dispatch 503', 'dispatch 429', 'dispatch error', 'dispatch 202']);
  });

  it('gives up after the last attempt and says what the last answer was', async () => {
    const { client, seen } = world([() => new Response('<html>bad gateway</html>', { status: 502 })]);

    const result = await client.dispatch(BODY);

    expect(result).toEqual({
      ok: false,
      kind: 'failed',
      message: 'no answer after 5 attempt(s): 502 unknown: <html>bad gateway</html>',
    });
    expect(seen).toHaveLength(5);
  });

  it('takes fewer attempts for one call when asked', async () => {
    const { client, seen } = world([refusal(503, 'unavailable')]);

    expect(await client.routes({ attempts: 1 })).toMatchObject({ kind: 'failed' });
    expect(seen).toHaveLength(1);
  });

  it('gives up on a request whose fetch ignores its signal and never answers (a peer that died mid-request)', async () => {
    const { client } = world([], {
      timeoutMs: 20,
      retry: { attempts: 1 },
      fetch: () => new Promise<Response>(() => undefined),
    });

    expect(await client.dispatch(BODY)).toEqual({
      ok: false,
      kind: 'failed',
      message: 'no answer after 1 attempt(s): timed out after 20 ms',
    });
  });

  it('stops at once when the caller aborts, in flight or between attempts', async () => {
    const inFlight = new AbortController();
    const hung = world([], { fetch: () => new Promise<Response>(() => undefined) });
    const pending = hung.client.dispatch(BODY, { signal: inFlight.signal });
    inFlight.abort(new Error('shutting down'));
    expect(await pending).toEqual({ ok: false, kind: 'aborted', message: 'shutting down' });

    const between = new AbortController();
    const down = world([refusal(503, 'unavailable')], {
      clock: {
        now: () => 0,
        sleep: async (_ms, signal) => {
          between.abort(new Error('shutting down'));
          if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
        },
      },
    });
    expect(await down.client.dispatch(BODY, { signal: between.signal })).toMatchObject({ kind: 'aborted' });
    expect(down.seen).toHaveLength(1);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const { client, maxInFlight } = world([json(202, { id: 'd' })], { concurrency: 3 });

    await Promise.all(Array.from({ length: 20 }, () => client.dispatch(BODY)));

    expect(maxInFlight()).toBe(3);
  });

  it('fails a 2xx whose body is not the contract, naming the endpoint', async () => {
    const { client } = world([json(200, { id: 7 })]);

    expect(await client.getDispatch('d1')).toEqual({
      ok: false,
      kind: 'failed',
      message: 'unexpected 200 body from GET /v1/dispatches/{id}',
    });
  });

  it('reads dispatches, lists and decisions with their paths and queries', async () => {
    const { client, seen } = world([
      json(200, DISPATCH),
      json(200, { items: [DISPATCH], next_cursor: null }),
      json(200, { items: [] }),
      json(200, { ...DISPATCH, state: 'cancelled' }),
    ]);

    expect(await client.getDispatch('d/1')).toEqual({ ok: true, status: 200, value: DISPATCH });
    expect(await client.listDispatches({ state: 'booting', limit: 10 })).toMatchObject({
      ok: true,
      value: { items: [DISPATCH], next_cursor: null },
    });
    expect(await client.decisions({ dispatch_id: 'd1' })).toMatchObject({ ok: true, value: { items: [] } });
    expect(await client.cancelDispatch('d1')).toMatchObject({ ok: true, value: { state: 'cancelled' } });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET http://127.0.0.1:9/v1/dispatches/d%2F1',
      'GET http://127.0.0.1:9/v1/dispatches?state=booting&limit=10',
      'GET http://127.0.0.1:9/v1/decisions?dispatch_id=d1',
      'DELETE http://127.0.0.1:9/v1/dispatches/d1',
    ]);
  });

  it('reads why as text, and its 404 as a refusal', async () => {
    const { client, seen } = world([
      () => new Response('dispatch d1 …\n', { status: 200, headers: { 'content-type': 'text/plain' } }),
      refusal(404, 'not_found'),
    ]);

    expect(await client.why('abc')).toEqual({ ok: true, status: 200, value: 'dispatch d1 …\n' });
    expect(await client.why('nope')).toMatchObject({ ok: false, kind: 'refused', status: 404 });
    expect(seen[0]?.accept).toBe('text/plain, application/json');
  });

  it('reads routes in full, or only the names and labels a job matcher needs', async () => {
    const route = {
      name: 'small',
      labels: ['linux'],
      runner_labels: ['linux'],
      providers: ['local'],
      limits: { max_vms: 10, max_vms_per_scope: null },
      live_vms: 0,
      warm: null,
    };
    const { client } = world([
      json(200, { routes: [route] }),
      json(200, { routes: [{ name: 'small', labels: ['linux'], extra: 1 }] }),
    ]);

    expect(await client.routes()).toEqual({ ok: true, status: 200, value: { routes: [route] } });
    expect(await client.routeInfos()).toEqual({
      ok: true,
      status: 200,
      value: [{ name: 'small', labels: ['linux'] }],
    });
  });

  it('reads budgets, checks their shape, and reports an older dispatcher 404 as a refusal', async () => {
    const budget = {
      cap: 'scopes.org:acme.limits.money_per_day',
      used: 1.5,
      limit: 5,
      unit: 'money',
      resets_at: '2026-11-24T00:00:00.000Z',
    };
    const { client, seen } = world([
      json(200, { items: [budget] }),
      json(200, { items: [{ ...budget, unit: 'euros' }] }),
      refusal(404, 'not_found'),
    ]);

    expect(await client.budgets()).toEqual({ ok: true, status: 200, value: { items: [budget] } });
    expect(await client.budgets()).toEqual({
      ok: false,
      kind: 'failed',
      message: 'unexpected 200 body from GET /v1/budgets',
    });
    expect(await client.budgets()).toMatchObject({ ok: false, kind: 'refused', status: 404 });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(
      Array(3).fill('GET http://127.0.0.1:9/v1/budgets'),
    );
  });

  it('sends a reconcile reason, or no body at all', async () => {
    const { client, seen } = world([json(202, { scheduled: true })]);

    expect(await client.reconcile('run done')).toEqual({ ok: true, status: 202, value: undefined });
    expect(seen[0]?.body).toEqual({ reason: 'run done' });
  });
});
