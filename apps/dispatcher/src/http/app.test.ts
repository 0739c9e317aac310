import { validate } from '@readme/openapi-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALICE_TOKEN, dispatcherHarness } from '../__fixtures__/harness.js';

const HANDLE = '33ba7d51-59c6-44f8-9d2b-1b94f4033973';
const JOB = { handle: HANDLE, id: 7, attempt: 1, repo_id: 1, owner_id: 3, name: 'build' };
const GOOD = { scope: 'org:acme', labels: ['linux'], job: JOB };

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
beforeEach(async () => {
  h = await dispatcherHarness();
});
afterEach(async () => {
  await h.close();
});

type Case = [
  name: string,
  method: string,
  path: string,
  body: unknown,
  token: string | null,
  status: number,
  code: string,
];

const badRequests: Case[] = [
  ['no Authorization header', 'POST', '/v1/dispatch', GOOD, null, 401, 'unauthorized'],
  ['unknown bearer token', 'POST', '/v1/dispatch', GOOD, 'nope-nope-nope', 401, 'unauthorized'],
  ['malformed JSON', 'POST', '/v1/dispatch', '{"scope": ', undefined as never, 400, 'bad_request'],
  ['JSON null', 'POST', '/v1/dispatch', 'null', undefined as never, 400, 'bad_request'],
  ['JSON array', 'POST', '/v1/dispatch', [GOOD], undefined as never, 400, 'bad_request'],
  ['JSON string', 'POST', '/v1/dispatch', '"org:acme"', undefined as never, 400, 'bad_request'],
  ['missing scope', 'POST', '/v1/dispatch', { labels: ['linux'] }, undefined as never, 400, 'bad_request'],
  [
    'scope of wrong type',
    'POST',
    '/v1/dispatch',
    { scope: 7, labels: ['linux'] },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'empty scope',
    'POST',
    '/v1/dispatch',
    { scope: '', labels: ['linux'] },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'malformed scope',
    'POST',
    '/v1/dispatch',
    { scope: 'team:x', labels: ['linux'] },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'unconfigured scope',
    'POST',
    '/v1/dispatch',
    { scope: 'org:other', labels: ['linux'] },
    undefined as never,
    400,
    'bad_request',
  ],
  ['missing labels', 'POST', '/v1/dispatch', { scope: 'org:acme' }, undefined as never, 400, 'bad_request'],
  [
    'empty labels',
    'POST',
    '/v1/dispatch',
    { scope: 'org:acme', labels: [] },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'labels as a string',
    'POST',
    '/v1/dispatch',
    { scope: 'org:acme', labels: 'linux' },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'label with a space',
    'POST',
    '/v1/dispatch',
    { scope: 'org:acme', labels: ['li nux'] },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'label with a comma',
    'POST',
    '/v1/dispatch',
    { scope: 'org:acme', labels: ['linux,small'] },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'too many labels',
    'POST',
    '/v1/dispatch',
    { scope: 'org:acme', labels: Array.from({ length: 33 }, (_, i) => `l${i}`) },
    undefined as never,
    400,
    'bad_request',
  ],
  ['unknown key', 'POST', '/v1/dispatch', { ...GOOD, priority: 1 }, undefined as never, 400, 'bad_request'],
  [
    'handle not a UUID',
    'POST',
    '/v1/dispatch',
    { ...GOOD, job: { ...JOB, handle: 'abc' } },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'negative job id',
    'POST',
    '/v1/dispatch',
    { ...GOOD, job: { ...JOB, id: -1 } },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'attempt as a string',
    'POST',
    '/v1/dispatch',
    { ...GOOD, job: { ...JOB, attempt: '1' } },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'job without a name',
    'POST',
    '/v1/dispatch',
    { ...GOOD, job: { ...JOB, name: undefined } },
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'unknown job key',
    'POST',
    '/v1/dispatch',
    { ...GOOD, job: { ...JOB, run_id: 1 } },
    undefined as never,
    400,
    'bad_request',
  ],
  ['client outside its scopes', 'POST', '/v1/dispatch', GOOD, ALICE_TOKEN, 403, 'forbidden'],
  [
    'labels no route takes',
    'POST',
    '/v1/dispatch',
    { scope: 'org:acme', labels: ['gpu', 'arm64'] },
    undefined as never,
    422,
    'no_route',
  ],
  [
    'body over 64 KiB',
    'POST',
    '/v1/dispatch',
    { ...GOOD, pad: 'x'.repeat(70_000) },
    undefined as never,
    413,
    'payload_too_large',
  ],
  ['unknown dispatch', 'GET', '/v1/dispatches/dnope', undefined, undefined as never, 404, 'not_found'],
  [
    'cancel unknown dispatch',
    'DELETE',
    '/v1/dispatches/dnope',
    undefined,
    undefined as never,
    404,
    'not_found',
  ],
  [
    'list with a bad state',
    'GET',
    '/v1/dispatches?state=bogus',
    undefined,
    undefined as never,
    400,
    'bad_request',
  ],
  ['list with limit 0', 'GET', '/v1/dispatches?limit=0', undefined, undefined as never, 400, 'bad_request'],
  [
    'list with a bad cursor',
    'GET',
    '/v1/dispatches?cursor=garbage',
    undefined,
    undefined as never,
    400,
    'bad_request',
  ],
  [
    'list with an unknown parameter',
    'GET',
    '/v1/dispatches?color=red',
    undefined,
    undefined as never,
    400,
    'bad_request',
  ],
  ['routes without a token', 'GET', '/v1/routes', undefined, null, 401, 'unauthorized'],
  ['unknown endpoint', 'GET', '/v1/nothing', undefined, undefined as never, 404, 'not_found'],
];

describe('a bad request', () => {
  it.each(badRequests)('%s → %i %s', async (_name, method, path, body, token, status, code) => {
    const before = await h.store.list({ limit: 500 });
    const forgejoCalls = h.forgejo.calls().length;

    const res = await h.request(method, path, body, token === undefined ? undefined : token);

    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message).not.toBe('');
    expect(await h.store.list({ limit: 500 })).toEqual(before);
    expect(h.forgejo.calls()).toHaveLength(forgejoCalls);
    expect(h.provider.calls).toEqual([]);
  });

  it('names the fields of a bad body', async () => {
    const res = await h.request('POST', '/v1/dispatch', { scope: 7, labels: [] });
    const json = (await res.json()) as { error: { details: { path: string }[] } };
    expect(json.error.details.map((d) => d.path).sort()).toEqual(['labels', 'scope']);
  });
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3 document listing every route', async () => {
    const res = await h.app.request('/openapi.json');
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    ).toEqual([
      'GET /healthz',
      'GET /readyz',
      'GET /openapi.json',
      'GET /metrics',
      'POST /v1/dispatch',
      'GET /v1/dispatches',
      'GET /v1/dispatches/{id}',
      'DELETE /v1/dispatches/{id}',
      'GET /v1/dispatches/{id}/why',
      'GET /v1/decisions',
      'POST /v1/reconcile',
      'GET /v1/routes',
      'GET /v1/budgets',
    ]);
  });
});

describe('health', () => {
  it('answers /healthz without a token and /readyz after checking store and Forgejo', async () => {
    expect((await h.app.request('/healthz')).status).toBe(200);
    const ready = await h.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      role: 'leader',
      checks: { store: 'ok', forgejo: 'ok' },
    });
  });

  it('is not ready when Forgejo fails', async () => {
    h.forgejo.injectFault({ path: /jobs/, status: 500 });
    const ready = await h.app.request('/readyz');
    expect(ready.status).toBe(503);
  });
});
