import { describe, expect, it } from 'vitest';
import { hook, JSON_HEADERS, job, mockForgejo, runner } from './__fixtures__/mock-forgejo.js';
import { ForgejoApiError } from './errors.js';
import { parseScope } from './scope.js';

const SCOPES = [
  ['instance', '/api/v1/admin'],
  ['org:acme', '/api/v1/orgs/acme'],
  ['user:alice', '/api/v1/user'],
  ['repo:acme/web.site', '/api/v1/repos/acme/web.site'],
] as const;

const createBody = {
  type: 'forgejo',
  config: { url: 'https://fleet.example/webhook', content_type: 'json', secret: 's3cret' },
  events: ['action_run_success', 'action_run_failure', 'action_run_recover'],
  active: true,
} as const;

describe.each(SCOPES)('in scope %s', (text, prefix) => {
  const scope = parseScope(text);

  it('listJobs: GET …/actions/runners/jobs with labels', async () => {
    const { pool, client, calls } = mockForgejo();
    pool
      .intercept({ path: `${prefix}/actions/runners/jobs?labels=docker%2Cbig`, method: 'GET' })
      .reply(200, [job()], { headers: JSON_HEADERS });

    const jobs = await client.listJobs(scope, { labels: ['docker', 'big'] });

    expect(jobs).toEqual([{ ...job(), needs: [] }]);
    expect(calls()[0]?.searchParams).toEqual({ labels: 'docker,big' });
  });

  it('registerRunner: POST …/actions/runners with the body, 201', async () => {
    const { pool, client, calls } = mockForgejo();
    const registered = { id: 42, uuid: '5b1f0f3c-8a3a-4a77-b7f0-6a2f4f0d8e11', token: 'runner-secret' };
    pool
      .intercept({ path: `${prefix}/actions/runners`, method: 'POST' })
      .reply(201, registered, { headers: JSON_HEADERS });

    const result = await client.registerRunner(scope, { name: 'ff-1', ephemeral: true });

    expect(result).toEqual(registered);
    const call = calls()[0];
    expect(JSON.parse(call?.body ?? '')).toEqual({ name: 'ff-1', ephemeral: true });
    expect(call?.headers).toMatchObject({ 'content-type': 'application/json' });
  });

  it('getRunner: GET …/actions/runners/{id}', async () => {
    const { pool, client } = mockForgejo();
    pool
      .intercept({ path: `${prefix}/actions/runners/7`, method: 'GET' })
      .reply(200, runner(7, { labels: ['vm-small'] }), { headers: JSON_HEADERS });

    const result = await client.getRunner(scope, 7);

    expect(result).toMatchObject({ id: 7, labels: ['vm-small'], ephemeral: true });
  });

  it('listRunners: GET …/actions/runners?page=1&limit=50', async () => {
    const { pool, client } = mockForgejo();
    pool
      .intercept({ path: `${prefix}/actions/runners?page=1&limit=50`, method: 'GET' })
      .reply(200, [runner(1)], { headers: { ...JSON_HEADERS, 'x-total-count': '1' } });

    const result = await client.listRunners(scope);

    expect(result.map((r) => r.id)).toEqual([1]);
    expect(result[0]?.labels).toEqual([]);
  });

  it('deleteRunner: DELETE …/actions/runners/{id}, 204', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: `${prefix}/actions/runners/7`, method: 'DELETE' }).reply(204, '');

    expect(await client.deleteRunner(scope, 7)).toBe('deleted');
  });

  it('listHooks: GET …/hooks?page=1&limit=50', async () => {
    const { pool, client } = mockForgejo();
    pool
      .intercept({ path: `${prefix}/hooks?page=1&limit=50`, method: 'GET' })
      .reply(200, [hook(3)], { headers: { ...JSON_HEADERS, 'x-total-count': '1' } });

    const result = await client.listHooks(scope);

    expect(result).toEqual([
      {
        id: 3,
        type: 'forgejo',
        active: true,
        events: ['action_run_success', 'action_run_failure'],
        config: { url: 'https://fleet.example/webhook', content_type: 'json' },
        branch_filter: '',
      },
    ]);
  });

  it('createHook: POST …/hooks with the body, 201', async () => {
    const { pool, client, calls } = mockForgejo();
    pool
      .intercept({ path: `${prefix}/hooks`, method: 'POST' })
      .reply(201, hook(9), { headers: JSON_HEADERS });

    const result = await client.createHook(scope, createBody);

    expect(result.id).toBe(9);
    expect(JSON.parse(calls()[0]?.body ?? '')).toEqual(createBody);
  });

  it('editHook: PATCH …/hooks/{id} with the body', async () => {
    const { pool, client, calls } = mockForgejo();
    pool
      .intercept({ path: `${prefix}/hooks/9`, method: 'PATCH' })
      .reply(200, hook(9, { active: false }), { headers: JSON_HEADERS });

    const result = await client.editHook(scope, 9, { active: false });

    expect(result.active).toBe(false);
    expect(JSON.parse(calls()[0]?.body ?? '')).toEqual({ active: false });
  });

  it('deleteHook: DELETE …/hooks/{id}, 204', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: `${prefix}/hooks/9`, method: 'DELETE' }).reply(204, '');

    expect(await client.deleteHook(scope, 9)).toBe('deleted');
  });
});

describe('request basics', () => {
  it('sends the token, accept and user agent headers', async () => {
    const { pool, client, calls } = mockForgejo({ userAgent: 'fleet-test/1' });
    pool.intercept({ path: '/api/v1/user/actions/runners/jobs', method: 'GET' }).reply(200, 'null');

    await client.listJobs(parseScope('user:alice'));

    expect(calls()[0]?.headers).toMatchObject({
      authorization: 'token pat_0123456789abcdef0123456789abcdef',
      accept: 'application/json',
      'user-agent': 'fleet-test/1',
    });
  });

  it.each([
    ['https://git.example/', 'https://git.example', '/api/v1/admin/actions/runners/jobs'],
    ['https://example.com/forgejo/', 'https://example.com', '/forgejo/api/v1/admin/actions/runners/jobs'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000', '/api/v1/admin/actions/runners/jobs'],
  ])('apiUrl %s -> %s%s', async (apiUrl, origin, path) => {
    const { agent, client } = mockForgejo({ apiUrl });
    agent.get(origin).intercept({ path, method: 'GET' }).reply(200, '[]');

    await expect(client.listJobs(parseScope('instance'))).resolves.toEqual([]);
  });

  it.each([
    ['https://git.example/api/v1', /drop the trailing \/api\/v1/],
    ['ftp://git.example', /http\(s\)/],
    ['git.example', /not a URL/],
    ['https://git.example/?x=1', /query/],
  ])('rejects apiUrl %s', (apiUrl, message) => {
    expect(() => mockForgejo({ apiUrl })).toThrow(message);
  });

  it.each(['', 'abc def', 'abc\n'])('rejects token %j without echoing it', (token) => {
    expect(() => mockForgejo({ token })).toThrow('token must be non-empty');
  });

  it('reports each attempt to onRequest, path without query', async () => {
    const { pool, client, events } = mockForgejo();
    pool
      .intercept({ path: '/api/v1/orgs/acme/actions/runners/jobs?labels=a', method: 'GET' })
      .reply(200, '[]');

    await client.listJobs(parseScope('org:acme'), { labels: ['a'] });

    expect(events).toEqual([
      {
        method: 'GET',
        path: '/api/v1/orgs/acme/actions/runners/jobs',
        status: 200,
        attempt: 1,
        ms: expect.any(Number),
      },
    ]);
  });
});

describe('listJobs', () => {
  const scope = parseScope('org:acme');

  it('answers [] for a null body', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: '/api/v1/orgs/acme/actions/runners/jobs', method: 'GET' }).reply(200, 'null');

    await expect(client.listJobs(scope)).resolves.toEqual([]);
  });

  it('normalises null needs/runs_on to [] and keeps waiting and running jobs', async () => {
    const { pool, client } = mockForgejo();
    pool
      .intercept({ path: '/api/v1/orgs/acme/actions/runners/jobs', method: 'GET' })
      .reply(200, [job({ runs_on: null }), job({ id: 12, status: 'running', task_id: 5, run_id: 4 })]);

    const jobs = await client.listJobs(scope);

    expect(jobs.map((j) => [j.id, j.status, j.runs_on, j.needs, j.run_id])).toEqual([
      [11, 'waiting', [], [], undefined],
      [12, 'running', ['docker'], [], 4],
    ]);
  });

  it('sends labels= for an empty label list (jobs without runs-on)', async () => {
    const { pool, client, calls } = mockForgejo();
    pool
      .intercept({ path: '/api/v1/orgs/acme/actions/runners/jobs?labels=', method: 'GET' })
      .reply(200, 'null');

    await client.listJobs(scope, { labels: [] });

    expect(calls()[0]?.fullUrl).toBe('http://forgejo.test/api/v1/orgs/acme/actions/runners/jobs?labels=');
  });

  it.each([
    [['a,b'], /contains ","/],
    [[' docker'], /surrounding whitespace/],
    [['docker', 'big\t'], /surrounding whitespace/],
    [[''], /empty label/],
  ])('rejects labels %j before any request', async (labels, message) => {
    const { client, calls } = mockForgejo();

    await expect(client.listJobs(scope, { labels })).rejects.toThrow(message);
    expect(calls()).toHaveLength(0);
  });
});

describe('pagination', () => {
  const scope = parseScope('org:acme');
  const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  const base = '/api/v1/orgs/acme/actions/runners';

  it('follows X-Total-Count across 3 pages', async () => {
    const { pool, client, calls } = mockForgejo();
    const total = { ...JSON_HEADERS, 'x-total-count': '120' };
    pool.intercept({ path: `${base}?page=1&limit=50`, method: 'GET' }).reply(
      200,
      ids(1, 50).map((i) => runner(i)),
      {
        headers: total,
      },
    );
    pool.intercept({ path: `${base}?page=2&limit=50`, method: 'GET' }).reply(
      200,
      ids(51, 50).map((i) => runner(i)),
      {
        headers: total,
      },
    );
    pool.intercept({ path: `${base}?page=3&limit=50`, method: 'GET' }).reply(
      200,
      ids(101, 20).map((i) => runner(i)),
      {
        headers: total,
      },
    );

    const result = await client.listRunners(scope);

    expect(result.map((r) => r.id)).toEqual(ids(1, 120));
    expect(calls()).toHaveLength(3);
  });

  it('follows Link rel="next" until absent, deduplicating runners that moved pages', async () => {
    const { pool, client, calls } = mockForgejo();
    const link = (page: number, last: boolean) =>
      [
        last ? '' : `<http://forgejo.test${base}?page=${page + 1}&limit=50>; rel="next"`,
        `<http://forgejo.test${base}?page=3&limit=50>; rel="last"`,
      ]
        .filter(Boolean)
        .join(', ');
    pool
      .intercept({ path: `${base}?visible=true&page=1&limit=50`, method: 'GET' })
      .reply(200, [runner(1), runner(2)], { headers: { link: link(1, false), 'x-total-count': '5' } });
    pool
      .intercept({ path: `${base}?visible=true&page=2&limit=50`, method: 'GET' })
      .reply(200, [runner(2), runner(3)], { headers: { link: link(2, false), 'x-total-count': '5' } });
    pool
      .intercept({ path: `${base}?visible=true&page=3&limit=50`, method: 'GET' })
      .reply(200, [runner(4), runner(5)], { headers: { link: link(3, true), 'x-total-count': '5' } });

    const result = await client.listRunners(scope, { visible: true });

    expect(result.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(calls().map((c) => c.searchParams)).toEqual([
      { page: '1', limit: '50', visible: 'true' },
      { page: '2', limit: '50', visible: 'true' },
      { page: '3', limit: '50', visible: 'true' },
    ]);
  });

  it('treats a list without pagination headers as complete (admin hooks)', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: '/api/v1/admin/hooks?page=1&limit=50', method: 'GET' }).reply(
      200,
      ids(1, 50).map((i) => hook(i)),
    );

    const result = await client.listHooks(parseScope('instance'));

    expect(result).toHaveLength(50);
    expect(calls()).toHaveLength(1);
  });

  it('stops at an empty page even if the total promised more', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: '/api/v1/user/hooks?page=1&limit=50', method: 'GET' }).reply(
      200,
      ids(1, 50).map((i) => hook(i)),
      { headers: { 'x-total-count': '60' } },
    );
    pool
      .intercept({ path: '/api/v1/user/hooks?page=2&limit=50', method: 'GET' })
      .reply(200, [], { headers: { 'x-total-count': '60' } });

    const result = await client.listHooks(parseScope('user:alice'));

    expect(result).toHaveLength(50);
    expect(calls()).toHaveLength(2);
  });
});

describe('404', () => {
  const scope = parseScope('repo:acme/web');
  const notFound = {
    message: "The target couldn't be found.",
    url: 'http://forgejo.test/api/swagger',
    errors: [],
  };

  it('getRunner answers undefined', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: '/api/v1/repos/acme/web/actions/runners/7', method: 'GET' }).reply(404, notFound);

    await expect(client.getRunner(scope, 7)).resolves.toBeUndefined();
  });

  it('deleteRunner answers not-found (ephemeral runner already soft-deleted), not retried', async () => {
    const { pool, client, calls } = mockForgejo();
    pool
      .intercept({ path: '/api/v1/repos/acme/web/actions/runners/7', method: 'DELETE' })
      .reply(404, notFound);

    await expect(client.deleteRunner(scope, 7)).resolves.toBe('not-found');
    expect(calls()).toHaveLength(1);
  });

  it('deleteHook answers not-found', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: '/api/v1/repos/acme/web/hooks/9', method: 'DELETE' }).reply(404, notFound);

    await expect(client.deleteHook(scope, 9)).resolves.toBe('not-found');
  });

  it('listRunners throws ForgejoApiError (e.g. Actions disabled or Forgejo < 15)', async () => {
    const { pool, client } = mockForgejo();
    pool
      .intercept({ path: '/api/v1/repos/acme/web/actions/runners?page=1&limit=50', method: 'GET' })
      .reply(404, { ...notFound, errors: ['repo does not have actions enabled'] });

    const err = await client.listRunners(scope).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ForgejoApiError);
    expect((err as ForgejoApiError).message).toBe(
      "GET /api/v1/repos/acme/web/actions/runners: 404 The target couldn't be found. (repo does not have actions enabled)",
    );
  });

  it('editHook throws ForgejoApiError 404', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: '/api/v1/repos/acme/web/hooks/9', method: 'PATCH' }).reply(404, notFound);

    await expect(client.editHook(scope, 9, { active: true })).rejects.toMatchObject({
      status: 404,
      retryable: false,
    });
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects id %s before any request', async (id) => {
    const { client, calls } = mockForgejo();

    await expect(client.getRunner(scope, id)).rejects.toThrow(RangeError);
    expect(calls()).toHaveLength(0);
  });
});
