import { fakeClock } from '@forgejo-fleet/runtime/testing';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.js';
import { createDispatcherClient } from './client.js';

const BODY = {
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

function client(answers: (() => Response | Promise<Response>)[], concurrency = 2) {
  const clock = fakeClock();
  const sleeps: number[] = [];
  const seen: { auth: string | undefined; body: unknown }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const app = new Hono();
  app.all('*', async (c) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    seen.push({
      auth: c.req.header('authorization'),
      body: c.req.method === 'POST' ? await c.req.json() : null,
    });
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    const next = answers.length > 1 ? answers.shift() : answers[0];
    if (!next) throw new Error('no answer');
    return next();
  });
  const dispatcher = createDispatcherClient({
    url: 'http://127.0.0.1:9/',
    token: 'tok',
    timeoutMs: 1000,
    concurrency,
    clock: {
      now: clock.now,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
    random: () => 0,
    fetch: async (input, init) => {
      const res = await app.request(String(input), init as RequestInit);
      if (res.status === 599) throw new TypeError('fetch failed');
      return res;
    },
    metrics: createMetrics(),
  });
  return { dispatcher, sleeps, seen, maxInFlight: () => maxInFlight };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    Response.json(body, { status, headers });
const error = (status: number, code: string) =>
  json(status, { error: { code, message: `${code} happened` } });

describe('dispatcher client', () => {
  it('gives up on a request whose fetch ignores its signal and never answers (a peer that died mid-request)', async () => {
    const dispatcher = createDispatcherClient({
      url: 'http://127.0.0.1:9/',
      token: 'tok',
      timeoutMs: 20,
      concurrency: 1,
      clock: { now: () => 0, sleep: async () => undefined },
      random: () => 0,
      fetch: () => new Promise<Response>(() => undefined),
      metrics: createMetrics(),
    });

    const outcome = await dispatcher.dispatch(BODY);

    expect(outcome).toMatchObject({
      kind: 'failed',
      message: expect.stringContaining('timed out after 20 ms'),
    });
  });

  it('sends the bearer token and the job; 202 is a new dispatch, 200 an existing one', async () => {
    const { dispatcher, seen } = client([json(202, { id: 'd1', route: 'small' }), json(200, { id: 'd1' })]);
    expect(await dispatcher.dispatch(BODY)).toEqual({ kind: 'created', id: 'd1', route: 'small' });
    expect(await dispatcher.dispatch(BODY)).toEqual({ kind: 'existing', id: 'd1', route: undefined });
    expect(seen[0]).toEqual({ auth: 'Bearer tok', body: BODY });
  });

  it.each([
    [422, 'no_route', 'no_route'],
    [409, 'conflict', 'conflict'],
    [400, 'bad_request', 'rejected'],
    [403, 'forbidden', 'rejected'],
  ])('maps %i to %s without retrying', async (status, code, kind) => {
    const { dispatcher, seen } = client([error(status, code)]);
    expect(await dispatcher.dispatch(BODY)).toMatchObject({ kind });
    expect(seen).toHaveLength(1);
  });

  it('retries 503, 429 (honouring Retry-After) and network errors with backoff, then succeeds', async () => {
    const { dispatcher, sleeps } = client([
      error(503, 'unavailable'),
      json(429, { error: { code: 'limit_reached', message: 'full' } }, { 'retry-after': '7' }),
      () => new Response(null, { status: 599 }),
      json(202, { id: 'd2' }),
    ]);
    expect(await dispatcher.dispatch(BODY)).toMatchObject({ kind: 'created', id: 'd2' });
    // random() = 0: half of 500, 1000, 2000 ms; Retry-After 7 s wins over 500 ms.
    expect(sleeps).toEqual([250, 7_000, 1_000]);
  });

  it('gives up after the last attempt and says why', async () => {
    const { dispatcher, seen } = client([error(503, 'unavailable')]);
    const outcome = await dispatcher.dispatch(BODY);
    expect(outcome).toMatchObject({ kind: 'failed' });
    expect(outcome.kind === 'failed' && outcome.message).toContain('503 unavailable');
    expect(seen).toHaveLength(5);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const { dispatcher, maxInFlight } = client([json(202, { id: 'd' })], 3);
    await Promise.all(Array.from({ length: 20 }, () => dispatcher.dispatch(BODY)));
    expect(maxInFlight()).toBe(3);
  });

  it('reads routes, and tells a dispatcher without POST /v1/reconcile apart', async () => {
    const routes = client([json(200, { routes: [{ name: 'small', labels: ['linux'], extra: 1 }] })]);
    expect(await routes.dispatcher.routes()).toEqual([{ name: 'small', labels: ['linux'] }]);
    expect(await client([error(404, 'not_found')]).dispatcher.reconcile('run done')).toBe('unsupported');
    expect(await client([error(403, 'forbidden')]).dispatcher.reconcile('run done')).toBe('forbidden');
    const accepted = client([json(202, {})]);
    expect(await accepted.dispatcher.reconcile('run done')).toBe('accepted');
    expect(accepted.seen[0]?.body).toEqual({ reason: 'run done' });
  });
});
