import { afterEach, describe, expect, it } from 'vitest';
import { type RunningFakeHetzner, startFakeHetzner } from './server.js';

let fake: RunningFakeHetzner | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(options: Parameters<typeof startFakeHetzner>[0] = {}) {
  fake = await startFakeHetzner(options);
  return fake;
}

// biome-ignore lint/suspicious/noExplicitAny: the tests reach into API answers of many shapes
type Json = Record<string, any>;

async function call(f: RunningFakeHetzner, method: string, path: string, body?: unknown, token = f.token) {
  const res = await fetch(`${f.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}

const create = (f: RunningFakeHetzner, name: string, extra: Record<string, unknown> = {}) =>
  call(f, 'POST', '/servers', {
    name,
    server_type: 'cpx22',
    image: 'ubuntu-24.04',
    location: 'fsn1',
    ...extra,
  });

describe('fake hetzner', () => {
  it('creates, gets, lists and deletes servers with the shapes of the spec', async () => {
    let now = 1_700_000_000_000;
    const f = await start({ now: () => now, actionMs: 5_000 });
    const created = await create(f, 'ff-1', {
      labels: { fleet: 'a' },
      user_data: '#cloud-config\n',
      ssh_keys: ['ops'],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      server: {
        name: 'ff-1',
        status: 'initializing',
        labels: { fleet: 'a' },
        server_type: { name: 'cpx22' },
        location: { name: 'fsn1' },
      },
      action: { command: 'create_server', status: 'running' },
      next_actions: [{ command: 'start_server' }],
      root_password: null,
    });
    const id = created.json.server.id as number;
    expect(f.server(id)?.userData).toBe('#cloud-config\n');

    now += 5_000;
    expect((await call(f, 'GET', `/servers/${id}`)).json.server.status).toBe('running');
    const actionIds = [created.json.action.id, created.json.next_actions[0].id];
    const actions = await call(f, 'GET', `/actions?id=${actionIds[0]}&id=${actionIds[1]}`);
    expect(actions.json.actions.map((a: { status: string }) => a.status)).toEqual(['success', 'success']);

    expect((await call(f, 'DELETE', `/servers/${id}`)).json.action.command).toBe('delete_server');
    const gone = await call(f, 'DELETE', `/servers/${id}`);
    expect(gone).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });

  it('paginates and filters by label selector', async () => {
    const f = await start();
    for (let i = 0; i < 7; i++)
      await create(f, `s-${i}`, { labels: { fleet: i < 5 ? 'a' : 'b', n: String(i) } });
    const first = await call(f, 'GET', '/servers?label_selector=fleet%3Da&per_page=2');
    expect(first.json.servers.map((s: { name: string }) => s.name)).toEqual(['s-0', 's-1']);
    expect(first.json.meta.pagination).toEqual({
      page: 1,
      per_page: 2,
      previous_page: null,
      next_page: 2,
      last_page: 3,
      total_entries: 5,
    });
    const last = await call(f, 'GET', '/servers?label_selector=fleet%3Da&per_page=2&page=3');
    expect(last.json.meta.pagination.next_page).toBeNull();
    const notin = await call(
      f,
      'GET',
      `/servers?label_selector=${encodeURIComponent('fleet=a,n notin (0,1),!x')}`,
    );
    expect(notin.json.servers).toHaveLength(3);
    expect((await call(f, 'GET', '/servers?label_selector=a%3D%3D%3D')).json.error.code).toBe(
      'invalid_input',
    );
  });

  it('answers the error bodies of the API', async () => {
    const f = await start();
    await create(f, 'taken');
    expect((await create(f, 'taken')).json.error).toEqual({
      code: 'uniqueness_error',
      message: 'server name is already used',
      details: { fields: [{ name: 'name' }] },
    });
    expect((await create(f, 'Not_A_Host')).json.error.code).toBe('invalid_input');
    expect((await create(f, 'x', { image: 'nope' })).json.error.code).toBe('not_found');
    expect((await create(f, 'x', { labels: { scope: 'org:acme' } })).json.error.code).toBe('invalid_input');
    expect((await call(f, 'GET', '/servers', undefined, 'wrong')).status).toBe(401);

    f.injectCreateError({ serverType: 'cpx22', location: 'fsn1', code: 'resource_unavailable', times: 1 });
    expect(await create(f, 'y')).toMatchObject({
      status: 412,
      json: { error: { code: 'resource_unavailable' } },
    });
    expect((await create(f, 'y')).status).toBe(201);
    f.injectFault({ method: 'GET', path: /^\/servers/, code: 'server_error', times: 1 });
    expect((await call(f, 'GET', '/servers')).status).toBe(500);
  });

  it('keeps the project bucket and tells it in RateLimit-* headers', async () => {
    let now = 1_700_000_000_000;
    const f = await start({ now: () => now, rateLimit: { limit: 3, refillPerSecond: 1 } });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call(f, 'GET', '/servers'));
    expect(answers.map((a) => a.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(answers[3]).toMatchObject({ status: 429, json: { error: { code: 'rate_limit_exceeded' } } });
    expect(answers[0]?.headers.get('ratelimit-limit')).toBe('3');
    expect(answers[2]?.headers.get('ratelimit-reset')).toBe(String(now / 1000 + 3));
    now += 1_000;
    expect((await call(f, 'GET', '/servers')).status).toBe(200);
    expect(f.stats()).toEqual({ requests: 5, rateLimited: 1 });
  });

  it('can lose the answer of a create that did happen', async () => {
    const f = await start();
    f.loseCreateResponses(1);
    await expect(create(f, 'lost')).rejects.toThrow();
    expect(f.servers().map((s) => s.name)).toEqual(['lost']);
  });

  it('selects snapshots by label, newest first', async () => {
    const f = await start();
    const old = f.addImage({ type: 'snapshot', labels: { role: 'runner' }, createdAt: 1 });
    const fresh = f.addImage({ type: 'snapshot', labels: { role: 'runner' }, createdAt: 2 });
    const images = await call(
      f,
      'GET',
      '/images?type=snapshot&label_selector=role%3Drunner&sort=created:desc',
    );
    expect(images.json.images.map((i: { id: number }) => i.id)).toEqual([fresh, old]);
  });
});
