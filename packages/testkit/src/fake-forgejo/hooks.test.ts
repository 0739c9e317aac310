import { createHmac } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver } from './__fixtures__/receiver.js';
import { api, manualClock, newWorld, rpc } from './__fixtures__/world.js';

const SWAGGER = 'http://127.0.0.1:3000/api/swagger';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function receiver(status = 200) {
  const r = await startReceiver(status);
  cleanups.push(r.close);
  return r;
}

function hookBody(url: string, extra: Record<string, unknown> = {}) {
  return { type: 'forgejo', config: { url, content_type: 'json', secret: 's3cret' }, ...extra };
}

describe('hooks API', () => {
  it('create: defaults events ["push"] and active FALSE; Hook JSON shape', async () => {
    const w = newWorld();
    const res = await api(w.fake, 'POST', '/orgs/acme/hooks', {
      token: w.tokens.alice,
      body: hookBody('http://127.0.0.1:9/x'),
    });
    expect(res.status).toBe(201);
    const body = res.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'id',
      'type',
      'branch_filter',
      'url',
      'config',
      'events',
      'authorization_header',
      'content_type',
      'metadata',
      'active',
      'updated_at',
      'created_at',
    ]);
    expect(body).toMatchObject({
      type: 'forgejo',
      url: 'http://127.0.0.1:9/x',
      config: { url: 'http://127.0.0.1:9/x', content_type: 'json' },
      events: ['push'],
      active: false,
      content_type: 'json',
      branch_filter: '',
      authorization_header: '',
    });
    expect(JSON.stringify(body.config)).not.toContain('s3cret');
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it.each([
    [{ config: { url: 'http://127.0.0.1/x', content_type: 'json' } }, '[Type]: Required'],
    [{ type: 'forgejo' }, '[Config]: Required'],
    [
      { type: 'nope', config: { url: 'http://127.0.0.1/x', content_type: 'json' } },
      'Invalid hook type: nope',
    ],
    [{ type: 'forgejo', config: { content_type: 'json' } }, 'Missing config option: url'],
    [{ type: 'forgejo', config: { url: 'http://127.0.0.1/x' } }, 'Missing config option: content_type'],
    [{ type: 'forgejo', config: { url: 'http://127.0.0.1/x', content_type: 'xml' } }, 'Invalid content type'],
    [{ type: 'forgejo', config: { url: 'ftp://x', content_type: 'json' } }, 'Invalid url'],
  ])('create %j -> 422 %s', async (body, message) => {
    const w = newWorld();
    const res = await api(w.fake, 'POST', '/repos/acme/app/hooks', { token: w.tokens.alice, body });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ message, url: SWAGGER });
  });

  it('trap 15: GET /admin/hooks lists only system hooks; default hooks are reachable by id and copied into new repos', async () => {
    const w = newWorld();
    const sys = await api(w.fake, 'POST', '/admin/hooks', {
      token: w.tokens.root,
      body: hookBody('http://127.0.0.1:9/sys', {
        config: { url: 'http://127.0.0.1:9/sys', content_type: 'json', is_system_webhook: 'true' },
      }),
    });
    const dflt = await api(w.fake, 'POST', '/admin/hooks', {
      token: w.tokens.root,
      body: hookBody('http://127.0.0.1:9/d'),
    });
    const list = await api(w.fake, 'GET', '/admin/hooks', { token: w.tokens.root });
    expect((list.body as { id: number }[]).map((h) => h.id)).toEqual([(sys.body as { id: number }).id]);
    const byId = await api(w.fake, 'GET', `/admin/hooks/${(dflt.body as { id: number }).id}`, {
      token: w.tokens.root,
    });
    expect(byId.status).toBe(200);
    w.fake.addRepo({ owner: 'bob', name: 'fresh' });
    const repoHooks = await api(w.fake, 'GET', '/repos/bob/fresh/hooks', { token: w.tokens.bob });
    expect((repoHooks.body as { url: string }[]).map((h) => h.url)).toEqual(['http://127.0.0.1:9/d']);
    expect(w.fake.hooks().map((h) => h.kind)).toEqual(['system', 'default', 'repo']);
  });

  it('trap 15: PATCH recomputes events but keeps action_run_* flags; resets branch_filter and authorization_header', async () => {
    const w = newWorld();
    const created = await api(w.fake, 'POST', '/repos/acme/app/hooks', {
      token: w.tokens.alice,
      body: hookBody('http://127.0.0.1:9/x', {
        events: ['action_run_failure', 'action_run_success'],
        branch_filter: 'main',
        authorization_header: 'Bearer abc',
      }),
    });
    const id = (created.body as { id: number }).id;
    expect(created.body).toMatchObject({
      events: ['action_run_failure', 'action_run_success'],
      active: false,
    });
    const activated = await api(w.fake, 'PATCH', `/repos/acme/app/hooks/${id}`, {
      token: w.tokens.alice,
      body: { active: true },
    });
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({
      active: true,
      events: ['push', 'action_run_failure', 'action_run_success'],
      branch_filter: '',
      authorization_header: '',
    });
    const edited = await api(w.fake, 'PATCH', `/repos/acme/app/hooks/${id}`, {
      token: w.tokens.alice,
      body: { events: ['action_run_recover', 'create'], config: { url: 'http://127.0.0.1:9/y' } },
    });
    expect(edited.body).toMatchObject({
      url: 'http://127.0.0.1:9/y',
      active: true,
      events: ['create', 'action_run_failure', 'action_run_success'],
    });
    const bad = await api(w.fake, 'PATCH', `/repos/acme/app/hooks/${id}`, {
      token: w.tokens.alice,
      body: { config: { content_type: 'xml' } },
    });
    expect(bad.status).toBe(422);
  });

  it('GET/DELETE by id are scoped; DELETE -> 204 then 404', async () => {
    const w = newWorld();
    const created = await api(w.fake, 'POST', '/orgs/acme/hooks', {
      token: w.tokens.alice,
      body: hookBody('http://127.0.0.1:9/x'),
    });
    const id = (created.body as { id: number }).id;
    expect((await api(w.fake, 'GET', `/repos/acme/app/hooks/${id}`, { token: w.tokens.alice })).status).toBe(
      404,
    );
    expect((await api(w.fake, 'GET', `/user/hooks/${id}`, { token: w.tokens.alice })).status).toBe(404);
    const list = await api(w.fake, 'GET', '/orgs/acme/hooks', { token: w.tokens.alice });
    expect(list.headers.get('x-total-count')).toBe('1');
    expect((await api(w.fake, 'DELETE', `/orgs/acme/hooks/${id}`, { token: w.tokens.alice })).status).toBe(
      204,
    );
    const gone = await api(w.fake, 'GET', `/orgs/acme/hooks/${id}`, { token: w.tokens.alice });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ message: "The target couldn't be found.", url: SWAGGER, errors: [] });
  });
});

describe('webhook deliveries', () => {
  it('push: signed JSON to active hooks of the repo, its owner and system hooks; inactive ones get nothing', async () => {
    const w = newWorld();
    const r = await receiver();
    const make = async (
      path: string,
      token: string,
      active: boolean,
      extraConfig: Record<string, string> = {},
    ) =>
      api(w.fake, 'POST', path, {
        token,
        body: {
          type: 'gitea',
          config: { url: r.url, content_type: 'json', secret: 'k', ...extraConfig },
          active,
        },
      });
    await make('/repos/acme/app/hooks', w.tokens.alice, true);
    await make('/orgs/acme/hooks', w.tokens.alice, true);
    await make('/admin/hooks', w.tokens.root, true, { is_system_webhook: 'true' });
    await make('/repos/acme/app/hooks', w.tokens.alice, false);
    await make('/repos/acme/lib/hooks', w.tokens.alice, true);
    await w.fake.emitPush('acme/app');
    expect(r.received.length).toBe(3);
    for (const got of r.received) {
      const expected = createHmac('sha256', 'k').update(got.body).digest('hex');
      expect(got.headers['x-forgejo-signature']).toBe(expected);
      expect(got.headers['x-gitea-signature']).toBe(expected);
      expect(got.headers['x-hub-signature-256']).toBe(`sha256=${expected}`);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['x-forgejo-event']).toBe('push');
      expect(got.headers['x-gitea-event']).toBe('push');
      expect(got.headers['x-forgejo-event-type']).toBe('push');
      expect(got.headers['x-forgejo-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(got.headers['x-gitea-delivery']).toBe(got.headers['x-forgejo-delivery']);
      const payload = JSON.parse(got.body.toString()) as { ref: string; repository: { full_name: string } };
      expect(payload).toMatchObject({ ref: 'refs/heads/main', repository: { full_name: 'acme/app' } });
      expect(got.body.toString()).toContain('\n  "ref"');
    }
    const deliveries = w.fake.deliveries();
    expect(deliveries.map((d) => [d.event, d.status, d.ok])).toEqual([
      ['push', 200, true],
      ['push', 200, true],
      ['push', 200, true],
    ]);
  });

  it('branch_filter applies to push', async () => {
    const w = newWorld();
    const r = await receiver();
    await api(w.fake, 'POST', '/repos/acme/app/hooks', {
      token: w.tokens.alice,
      body: hookBody(r.url, { active: true, branch_filter: '{main,release/*}' }),
    });
    await w.fake.emitPush('acme/app', 'feature');
    await w.fake.emitPush('acme/app', 'release/1.0');
    expect(r.received.length).toBe(1);
  });

  it('action_run_* events when a job finishes (success, failure, recover) and on cancel', async () => {
    const w = newWorld();
    const r = await receiver();
    await api(w.fake, 'POST', '/orgs/acme/hooks', {
      token: w.tokens.alice,
      body: hookBody(r.url, {
        active: true,
        events: ['action_run_success', 'action_run_failure', 'action_run_recover'],
      }),
    });
    const reg = await api(w.fake, 'POST', '/orgs/acme/actions/runners', {
      token: w.tokens.alice,
      body: { name: 'p' },
    });
    const runner = reg.body as { uuid: string; token: string };
    await rpc(w.fake, 'Declare', runner, { labels: ['x'] });

    const first = w.fake.enqueueJob({ repo: 'acme/app', name: 'ci', runsOn: ['x'] });
    await rpc(w.fake, 'FetchTask', runner, {});
    w.fake.finishJob(first.handle, 'failure');
    await w.fake.settleDeliveries();
    w.fake.rerunJob(first.id);
    const task = await rpc(w.fake, 'FetchTask', runner, {});
    await rpc(w.fake, 'UpdateTask', runner, {
      state: { id: (task.body.task as { id: string }).id, result: 'RESULT_SUCCESS' },
    });
    await w.fake.settleDeliveries();
    const cancelled = w.fake.enqueueJob({ repo: 'acme/app', name: 'other', runsOn: ['y'] });
    w.fake.cancelJob(cancelled.handle);
    await w.fake.settleDeliveries();

    const events = r.received.map((g) => {
      const p = JSON.parse(g.body.toString()) as {
        action: string;
        prior_status: string;
        run: { status: string; repository: { full_name: string }; ScheduleID: number };
        last_run?: { status: string };
      };
      return [
        g.headers['x-forgejo-event'],
        p.action,
        p.run.status,
        p.prior_status,
        p.last_run?.status ?? null,
      ];
    });
    expect(events).toEqual([
      ['action_run_failure', 'failure', 'failure', 'running', null],
      ['action_run_success', 'success', 'success', 'running', 'failure'],
      ['action_run_recover', 'recover', 'success', 'running', 'failure'],
      ['action_run_failure', 'failure', 'cancelled', 'waiting', null],
    ]);
    const sample = JSON.parse(r.received[0]?.body.toString() ?? '{}') as { run: Record<string, unknown> };
    expect(sample.run).toMatchObject({ ScheduleID: 0, repository: { full_name: 'acme/app' } });
  });

  it('refuses non-127.0.0.1 targets and records failures; never retries', async () => {
    const w = newWorld({ deliveryTimeoutMs: 500 });
    const failing = await receiver(500);
    for (const url of ['http://example.com/hook', 'http://localhost:1/hook', failing.url]) {
      await api(w.fake, 'POST', '/repos/acme/app/hooks', {
        token: w.tokens.alice,
        body: hookBody(url, { active: true }),
      });
    }
    await w.fake.emitPush('acme/app');
    const d = w.fake.deliveries();
    expect(d.map((x) => [x.url, x.status, x.ok])).toEqual([
      ['http://example.com/hook', null, false],
      ['http://localhost:1/hook', null, false],
      [failing.url, 500, false],
    ]);
    expect(d[0]?.error).toContain('deny');
    expect(d[1]?.error).toContain('deny');
    expect(failing.received.length).toBe(1);
  });

  it('records network errors (closed port) as failed deliveries', async () => {
    const w = newWorld();
    const gone = await startReceiver();
    await gone.close();
    await api(w.fake, 'POST', '/repos/acme/app/hooks', {
      token: w.tokens.alice,
      body: hookBody(gone.url, { active: true }),
    });
    await w.fake.emitPush('acme/app');
    expect(w.fake.deliveries()[0]).toMatchObject({ ok: false, status: null });
    expect(w.fake.deliveries()[0]?.error).toBeTruthy();
  });

  it('form content type: body is payload=<urlencoded json>, signature over the JSON', async () => {
    const w = newWorld();
    const r = await receiver();
    await api(w.fake, 'POST', '/repos/acme/app/hooks', {
      token: w.tokens.alice,
      body: { type: 'forgejo', config: { url: r.url, content_type: 'form', secret: 'k' }, active: true },
    });
    await w.fake.emitPush('acme/app');
    const got = r.received[0];
    const json = new URLSearchParams(got?.body.toString()).get('payload') ?? '';
    expect(got?.headers['x-forgejo-signature']).toBe(createHmac('sha256', 'k').update(json).digest('hex'));
  });

  it('a receiver that never answers is recorded as a timed-out delivery', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const port = (silent.address() as { port: number }).port;
    const w = newWorld({ deliveryTimeoutMs: 50 });
    await api(w.fake, 'POST', '/repos/acme/app/hooks', {
      token: w.tokens.alice,
      body: hookBody(`http://127.0.0.1:${port}/hook`, { active: true }),
    });
    await w.fake.emitPush('acme/app');
    expect(w.fake.deliveries()[0]).toMatchObject({ ok: false, status: null });
    expect(w.fake.deliveries()[0]?.error).toMatch(/TimeoutError|abort/i);
  });

  it('trap 17: run.duration is in nanoseconds and timestamps come from the injected clock', async () => {
    const clock = manualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
    const w = newWorld({ now: clock.now });
    const r = await receiver();
    await api(w.fake, 'POST', '/repos/acme/app/hooks', {
      token: w.tokens.alice,
      body: hookBody(r.url, { active: true, events: ['action_run_success'] }),
    });
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await api(w.fake, 'POST', '/admin/actions/runners', {
      token: w.tokens.root,
      body: { name: 'r' },
    });
    const runner = reg.body as { uuid: string; token: string };
    await rpc(w.fake, 'Declare', runner, { labels: ['x'] });
    await rpc(w.fake, 'FetchTask', runner, {});
    clock.advance(90_000);
    w.fake.finishJob(job.handle, 'success');
    await w.fake.settleDeliveries();
    const run = (JSON.parse(r.received[0]?.body.toString() ?? '{}') as { run: Record<string, unknown> }).run;
    expect(run).toMatchObject({
      duration: 90_000_000_000,
      started: '2026-01-02T03:04:05Z',
      stopped: '2026-01-02T03:05:35Z',
      status: 'success',
    });
  });
});
