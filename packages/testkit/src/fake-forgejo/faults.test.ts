import { describe, expect, it } from 'vitest';
import { api, newWorld, rpc } from './__fixtures__/world.js';
import { startFakeForgejo } from './server.js';

describe('fault injection', () => {
  it('answers with a Forgejo-style error for `times` matching requests, then proceeds', async () => {
    const w = newWorld();
    w.fake.injectFault({ method: 'GET', path: '/admin/actions/runners/jobs', status: 503, times: 2 });
    const path = '/admin/actions/runners/jobs';
    const first = await api(w.fake, 'GET', path, { token: w.tokens.root });
    expect(first.status).toBe(503);
    expect(first.body).toEqual({ message: 'injected fault 503', url: 'http://127.0.0.1:3000/api/swagger' });
    expect((await api(w.fake, 'GET', path, { token: w.tokens.root })).status).toBe(503);
    expect((await api(w.fake, 'GET', path, { token: w.tokens.root })).status).toBe(200);
    expect(w.fake.calls().map((c) => c.status)).toEqual([503, 503, 200]);
  });

  it('matches the full path, a RegExp, and the method; first matching rule wins; clearFaults', async () => {
    const w = newWorld();
    w.fake.injectFault({ method: 'POST', path: /\/actions\/runners$/, status: 500, times: 1 });
    w.fake.injectFault({ path: '/api/v1/orgs/acme/actions/runners', status: 429 });
    const get = await api(w.fake, 'GET', '/orgs/acme/actions/runners', { token: w.tokens.alice });
    expect(get.status).toBe(429);
    const post = await api(w.fake, 'POST', '/orgs/acme/actions/runners', {
      token: w.tokens.alice,
      body: { name: 'x' },
    });
    expect(post.status).toBe(500);
    expect(
      (
        await api(w.fake, 'POST', '/orgs/acme/actions/runners', {
          token: w.tokens.alice,
          body: { name: 'x' },
        })
      ).status,
    ).toBe(429);
    w.fake.clearFaults();
    expect((await api(w.fake, 'GET', '/orgs/acme/actions/runners', { token: w.tokens.alice })).status).toBe(
      200,
    );
  });

  it('runner RPC faults use connect error bodies', async () => {
    const w = newWorld();
    w.fake.injectFault({ path: /FetchTask$/, status: 503 });
    const res = await rpc(w.fake, 'FetchTask', { uuid: 'x', token: 'y' }, {});
    expect(res).toEqual({ status: 503, body: { code: 'unavailable', message: 'injected fault 503' } });
  });

  it('delays, then proceeds or fails', async () => {
    const w = newWorld();
    w.fake.injectFault({ path: '/user/actions/runners', delayMs: 40, times: 1 });
    w.fake.injectFault({ path: '/user/actions/runners', delayMs: 10, status: 502, times: 1 });
    const t0 = performance.now();
    expect((await api(w.fake, 'GET', '/user/actions/runners', { token: w.tokens.alice })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect((await api(w.fake, 'GET', '/user/actions/runners', { token: w.tokens.alice })).status).toBe(502);
  });

  it('hang never answers until the request is aborted (in-process)', async () => {
    const w = newWorld();
    w.fake.injectFault({ path: '/user/actions/runners', hang: true, times: 1 });
    const controller = new AbortController();
    let settled = false;
    const pending = Promise.resolve(
      w.fake.app.request(
        new Request('http://127.0.0.1/api/v1/user/actions/runners', {
          headers: { Authorization: `token ${w.tokens.alice}` },
          signal: controller.signal,
        }),
      ),
    ).then((r) => {
      settled = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    controller.abort();
    expect((await pending).status).toBe(503);
  });

  it('hang over a socket ends when the server closes', async () => {
    const fake = await startFakeForgejo();
    fake.addUser({ name: 'u' });
    const token = fake.addToken({ user: 'u', scopes: ['all'] });
    fake.injectFault({ path: '/user/actions/runners', hang: true });
    let outcome = 'pending';
    const pending = fetch(`${fake.url}/api/v1/user/actions/runners`, {
      headers: { Authorization: `token ${token}` },
    }).then(
      (r) => {
        outcome = `status ${r.status}`;
      },
      () => {
        outcome = 'network error';
      },
    );
    // Another request still gets through while one hangs.
    const other = await fetch(`${fake.url}/api/v1/user/hooks`, {
      headers: { Authorization: `token ${token}` },
    });
    expect(other.status).toBe(200);
    expect(outcome).toBe('pending');
    await fake.close();
    await pending;
    expect(outcome).not.toBe('pending');
  });
});
