import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hook, JSON_HEADERS, job, mockForgejo, TOKEN } from './__fixtures__/mock-forgejo.js';
import { ForgejoApiError, ForgejoNetworkError, ForgejoResponseError } from './errors.js';
import { parseScope } from './scope.js';

const org = parseScope('org:acme');
const JOBS = '/api/v1/orgs/acme/actions/runners/jobs';
const RUNNERS = '/api/v1/orgs/acme/actions/runners';
const HOOKS = '/api/v1/orgs/acme/hooks';
const registered = { id: 42, uuid: '5b1f0f3c-8a3a-4a77-b7f0-6a2f4f0d8e11', token: 'runner-secret' };

function connectError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:3000`), { code });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('auth errors', () => {
  it.each([
    [401, { message: 'token is required', url: 'http://forgejo.test/api/swagger' }, 'token is required'],
    [
      403,
      {
        message: 'token does not have at least one of required scope(s): [write:organization]',
        url: 'http://forgejo.test/api/swagger',
      },
      'token does not have at least one of required scope(s): [write:organization]',
    ],
  ])('%i -> ForgejoApiError with Forgejo message, not retried', async (status, body, message) => {
    const { pool, client, calls, sleeps } = mockForgejo();
    pool.intercept({ path: RUNNERS, method: 'POST' }).reply(status, body, { headers: JSON_HEADERS });

    const err = await caught(client.registerRunner(org, { name: 'ff-1', ephemeral: true }));

    expect(err).toBeInstanceOf(ForgejoApiError);
    expect(err).toMatchObject({
      status,
      forgejoMessage: message,
      method: 'POST',
      path: RUNNERS,
      retryable: false,
    });
    expect((err as Error).message).toBe(`POST ${RUNNERS}: ${status} ${message}`);
    expect(calls()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('does not retry a GET on 403 either', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: JOBS, method: 'GET' }).reply(403, { message: 'forbidden' });

    await expect(client.listJobs(org)).rejects.toMatchObject({ status: 403 });
    expect(calls()).toHaveLength(1);
  });
});

describe('retries of idempotent requests', () => {
  it('retries 500 and 502 then succeeds, with jittered exponential backoff', async () => {
    const { pool, client, calls, sleeps, events } = mockForgejo({ random: () => 0.5 });
    pool.intercept({ path: JOBS, method: 'GET' }).reply(500, { message: '' });
    pool.intercept({ path: JOBS, method: 'GET' }).reply(502, '<html><title>502 Bad Gateway</title></html>');
    pool.intercept({ path: JOBS, method: 'GET' }).reply(200, [job()]);

    const jobs = await client.listJobs(org);

    expect(jobs).toHaveLength(1);
    expect(calls()).toHaveLength(3);
    // baseMs 100: ceilings 100, 200; equal jitter at random 0.5 -> 75, 150.
    expect(sleeps).toEqual([75, 150]);
    expect(events.map((e) => [e.status, e.attempt])).toEqual([
      [500, 1],
      [502, 2],
      [200, 3],
    ]);
  });

  it('gives up after `attempts` with the last error, retryable', async () => {
    const { pool, client, calls, sleeps } = mockForgejo({
      random: () => 1,
      retry: { baseMs: 100, maxMs: 300 },
    });
    pool
      .intercept({ path: '/api/v1/orgs/acme/hooks/9', method: 'DELETE' })
      .reply(503, 'upstream down')
      .times(4);

    const err = await caught(client.deleteHook(org, 9));

    expect(err).toMatchObject({ status: 503, forgejoMessage: 'upstream down', retryable: true });
    expect(calls()).toHaveLength(4);
    expect(sleeps).toEqual([100, 200, 300]);
  });

  it('honours Retry-After seconds on 429', async () => {
    const { pool, client, sleeps } = mockForgejo();
    pool
      .intercept({ path: `${HOOKS}/9`, method: 'PATCH' })
      .reply(429, 'slow down', { headers: { 'retry-after': '7' } });
    pool.intercept({ path: `${HOOKS}/9`, method: 'PATCH' }).reply(200, hook(9));

    await client.editHook(org, 9, { active: true });

    expect(sleeps).toEqual([7_000]);
  });

  it.each([
    ['a past HTTP date (backoff wins)', 'Wed, 21 Oct 2015 07:28:00 GMT', 75],
    ['a far future HTTP date (capped at 60 s)', 'Fri, 01 Jan 2100 00:00:00 GMT', 60_000],
    ['a huge delta (capped)', '86400', 60_000],
    ['garbage (backoff)', 'soon', 75],
  ])('Retry-After as %s', async (_, retryAfter, slept) => {
    const { pool, client, sleeps } = mockForgejo();
    pool.intercept({ path: JOBS, method: 'GET' }).reply(503, '', { headers: { 'retry-after': retryAfter } });
    pool.intercept({ path: JOBS, method: 'GET' }).reply(200, 'null');

    await client.listJobs(org);

    expect(sleeps).toEqual([slept]);
  });

  it('retries network errors on GET', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: JOBS, method: 'GET' }).replyWithError(connectError('ECONNRESET'));
    pool.intercept({ path: JOBS, method: 'GET' }).reply(200, 'null');

    await expect(client.listJobs(org)).resolves.toEqual([]);
    expect(calls()).toHaveLength(2);
  });
});

describe('timeouts', () => {
  it('times out each attempt and throws ForgejoNetworkError after all attempts', async () => {
    const { pool, client, calls, sleeps, events } = mockForgejo({ timeoutMs: 20 });
    pool.intercept({ path: JOBS, method: 'GET' }).reply(200, 'null').delay(5_000).times(4);

    const err = await caught(client.listJobs(org));

    expect(err).toBeInstanceOf(ForgejoNetworkError);
    expect((err as Error).message).toBe(`GET ${JOBS}: timed out after 20ms`);
    expect(err).toMatchObject({ method: 'GET', path: JOBS, retryable: true });
    expect(calls()).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    expect(events.map((e) => e.status)).toEqual(['error', 'error', 'error', 'error']);
  });
});

describe('POST retry rule (register, createHook)', () => {
  it('does not retry a 500: the runner may already exist', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: RUNNERS, method: 'POST' }).reply(500, { message: 'database error' });

    const err = await caught(client.registerRunner(org, { name: 'ff-1', ephemeral: true }));

    expect(err).toMatchObject({ status: 500, retryable: true });
    expect(calls()).toHaveLength(1);
  });

  it('does not retry a timeout, and says why', async () => {
    const { pool, client, calls } = mockForgejo({ timeoutMs: 20 });
    pool.intercept({ path: RUNNERS, method: 'POST' }).reply(201, registered).delay(5_000);

    const err = await caught(client.registerRunner(org, { name: 'ff-1', ephemeral: true }));

    expect(err).toBeInstanceOf(ForgejoNetworkError);
    expect((err as Error).message).toBe(
      `POST ${RUNNERS}: timed out after 20ms (not retried: the request may have reached Forgejo)`,
    );
    expect(calls()).toHaveLength(1);
  });

  it('does not retry a reset connection', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: HOOKS, method: 'POST' }).replyWithError(connectError('ECONNRESET'));

    await expect(
      client.createHook(org, {
        type: 'forgejo',
        config: { url: 'https://x.example/', content_type: 'json' },
      }),
    ).rejects.toThrow(/ECONNRESET.*not retried/);
    expect(calls()).toHaveLength(1);
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT'])(
    'retries when the connection was never made (%s)',
    async (code) => {
      const { pool, client, calls } = mockForgejo();
      pool.intercept({ path: RUNNERS, method: 'POST' }).replyWithError(connectError(code));
      pool.intercept({ path: RUNNERS, method: 'POST' }).reply(201, registered);

      await expect(client.registerRunner(org, { name: 'ff-1', ephemeral: true })).resolves.toEqual(
        registered,
      );
      expect(calls()).toHaveLength(2);
    },
  );

  it('retries a 429 (refused before processing), honouring Retry-After', async () => {
    const { pool, client, calls, sleeps } = mockForgejo();
    pool.intercept({ path: RUNNERS, method: 'POST' }).reply(429, '', { headers: { 'retry-after': '2' } });
    pool.intercept({ path: RUNNERS, method: 'POST' }).reply(201, registered);

    await client.registerRunner(org, { name: 'ff-1', ephemeral: true });

    expect(calls()).toHaveLength(2);
    expect(sleeps).toEqual([2_000]);
  });
});

describe('bodies', () => {
  it('names the field of a malformed body and does not retry', async () => {
    const { pool, client, calls } = mockForgejo();
    pool.intercept({ path: JOBS, method: 'GET' }).reply(200, [job(), job({ handle: 5 })]);

    const err = await caught(client.listJobs(org));

    expect(err).toBeInstanceOf(ForgejoResponseError);
    expect(err).toBeInstanceOf(ForgejoApiError);
    expect((err as Error).message).toBe(
      `GET ${JOBS}: 200 unexpected response: response.body[1].handle: expected string, received number`,
    );
    expect(err).toMatchObject({ retryable: false, status: 200 });
    expect(calls()).toHaveLength(1);
  });

  it('reports a missing field of a single object', async () => {
    const { pool, client } = mockForgejo();
    pool.intercept({ path: RUNNERS, method: 'POST' }).reply(201, { id: 1, uuid: 'u' });

    await expect(client.registerRunner(org, { name: 'x', ephemeral: true })).rejects.toThrow(
      'response.body.token: expected string, received undefined',
    );
  });

  it('reports a non-JSON 200 (a proxy login page)', async () => {
    const { pool, client } = mockForgejo();
    pool
      .intercept({ path: JOBS, method: 'GET' })
      .reply(200, '<!DOCTYPE html><html><head><title>Sign in</title></head></html>', {
        headers: { 'content-type': 'text/html' },
      });

    await expect(client.listJobs(org)).rejects.toThrow(
      'response.body: not JSON (text/html): HTML page "Sign in"',
    );
  });

  it('describes a non-JSON error body from a proxy', async () => {
    const { pool, client } = mockForgejo({ retry: { attempts: 1 } });
    pool
      .intercept({ path: JOBS, method: 'GET' })
      .reply(502, '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>', {
        headers: { 'content-type': 'text/html' },
      });

    await expect(client.listJobs(org)).rejects.toThrow(`GET ${JOBS}: 502 HTML page "502 Bad Gateway"`);
  });

  it('reports a redirect as a configuration problem', async () => {
    const { pool, client, calls } = mockForgejo();
    pool
      .intercept({ path: JOBS, method: 'GET' })
      .reply(301, '', { headers: { location: 'https://forgejo.test/' } });

    await expect(client.listJobs(org)).rejects.toThrow(
      '301 redirected to https://forgejo.test/; check apiUrl',
    );
    expect(calls()).toHaveLength(1);
  });
});

describe('abort', () => {
  it('does not send when the signal is already aborted', async () => {
    const { client, calls } = mockForgejo();

    await expect(client.listJobs(org, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(calls()).toHaveLength(0);
  });

  it('stops retrying when aborted during backoff', async () => {
    const controller = new AbortController();
    const { pool, client, calls } = mockForgejo({
      sleep: async () => {
        controller.abort();
      },
    });
    pool.intercept({ path: JOBS, method: 'GET' }).reply(503, '').persist();

    await expect(client.listJobs(org, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(calls()).toHaveLength(1);
  });

  it('aborts an in-flight request with the caller reason, without retrying', async () => {
    const { pool, client, calls, sleeps } = mockForgejo();
    pool.intercept({ path: JOBS, method: 'GET' }).reply(200, 'null').delay(5_000);
    const controller = new AbortController();
    const reason = new Error('shutting down');

    const pending = client.listJobs(org, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(reason);

    await expect(pending).rejects.toBe(reason);
    expect(calls()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});

describe('the token never leaks', () => {
  function expectNoToken(value: unknown): void {
    if (value === undefined) return;
    const err = value as Error;
    for (const text of [
      JSON.stringify(err),
      String(err),
      err.stack ?? '',
      inspect(err, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      JSON.stringify(Object.entries(err)),
    ]) {
      expect(text).not.toContain(TOKEN);
    }
  }

  it.each([
    [
      'an error body echoing the request',
      (pool: ReturnType<typeof mockForgejo>['pool']) =>
        pool.intercept({ path: JOBS, method: 'GET' }).reply(400, { message: `bad header: token ${TOKEN}` }),
    ],
    [
      'an HTML error page echoing it',
      (pool: ReturnType<typeof mockForgejo>['pool']) =>
        pool
          .intercept({ path: JOBS, method: 'GET' })
          .reply(500, `<html><title>${TOKEN}</title></html>`)
          .times(4),
    ],
    ['an unmatched mock (undici error listing the headers)', () => undefined],
    [
      'a network error whose message quotes it',
      (pool: ReturnType<typeof mockForgejo>['pool']) =>
        pool
          .intercept({ path: JOBS, method: 'GET' })
          .replyWithError(Object.assign(new Error(`bad header token ${TOKEN}`), { code: 'ECONNRESET' }))
          .times(4),
    ],
    [
      'a timeout',
      (pool: ReturnType<typeof mockForgejo>['pool']) =>
        pool.intercept({ path: JOBS, method: 'GET' }).reply(200, 'null').delay(5_000).times(4),
    ],
    [
      'a malformed body quoting it',
      (pool: ReturnType<typeof mockForgejo>['pool']) =>
        pool.intercept({ path: JOBS, method: 'GET' }).reply(200, { [TOKEN]: 1 }),
    ],
    [
      'a non-JSON body quoting it',
      (pool: ReturnType<typeof mockForgejo>['pool']) =>
        pool.intercept({ path: JOBS, method: 'GET' }).reply(200, `oops ${TOKEN}`),
    ],
  ])('in errors and events after %s', async (_, arrange) => {
    const { pool, client, events } = mockForgejo({ timeoutMs: 20 });
    arrange(pool);

    const err = await caught(client.listJobs(org));

    expect(err).toBeInstanceOf(Error);
    expectNoToken(err);
    expectNoToken((err as Error).cause);
    expect(JSON.stringify(events)).not.toContain(TOKEN);
  });
});
