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

describe('fake hetzner rebuild and update', () => {
  const ACTION_MS = 5_000;
  let now = 1_700_000_000_000;

  async function booted(extra: Record<string, unknown> = {}) {
    now = 1_700_000_000_000;
    const f = await start({ now: () => now, actionMs: ACTION_MS });
    const created = await create(f, 'ff-1', {
      user_data: '#cloud-config\n# old\n',
      labels: { d: '1' },
      ...extra,
    });
    now += ACTION_MS;
    return { f, id: created.json.server.id as number };
  }

  it('powers the server off, is rebuilding while its action runs, then boots the new user-data', async () => {
    const { f, id } = await booted();
    const rebuilt = await call(f, 'POST', `/servers/${id}/actions/rebuild`, {
      image: 'debian-12',
      user_data: '#cloud-config\n# new\n',
    });
    expect(rebuilt.status).toBe(201);
    expect(rebuilt.json).toMatchObject({
      action: { command: 'rebuild_server', status: 'running', resources: [{ id, type: 'server' }] },
    });
    expect(rebuilt.json.root_password).toMatch(/^\S{12,}$/);
    expect(f.server(id)?.rebuilds).toEqual([
      {
        at: now,
        image: 'debian-12',
        userData: '#cloud-config\n# new\n',
        poweredOffFrom: 'running',
        labels: { d: '1' },
        actionId: rebuilt.json.action.id,
      },
    ]);
    expect(f.server(id)?.userData).toBe('#cloud-config\n# new\n');
    expect((await call(f, 'GET', `/servers/${id}`)).json.server.status).toBe('rebuilding');
    now += ACTION_MS - 1;
    expect((await call(f, 'GET', `/servers/${id}`)).json.server.status).toBe('rebuilding');
    now += 1;
    expect((await call(f, 'GET', `/servers/${id}`)).json.server).toMatchObject({
      status: 'running',
      image: { name: 'debian-12' },
    });
    expect((await call(f, 'GET', `/actions/${rebuilt.json.action.id}`)).json.action.status).toBe('success');
  });

  it('keeps the previous user-data when none is sent; no root password for a server with SSH keys', async () => {
    const { f, id } = await booted({ ssh_keys: ['ops'] });
    f.setStatus(id, 'off');
    const rebuilt = await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' });
    expect(rebuilt.json.root_password).toBeNull();
    expect(f.server(id)?.userData).toBe('#cloud-config\n# old\n');
    expect(f.server(id)?.rebuilds[0]?.poweredOffFrom).toBe('off');
    // The pin of setStatus is gone: the rebuild drives the status again.
    now += ACTION_MS;
    expect((await call(f, 'GET', `/servers/${id}`)).json.server.status).toBe('running');
  });

  it.each([
    ['no image', {}, 400, 'invalid_input', 'image'],
    ['an empty image', { image: '' }, 400, 'invalid_input', 'image'],
    [
      'user_data over 32 KiB',
      { image: 'ubuntu-24.04', user_data: 'x'.repeat(33 * 1024) },
      400,
      'invalid_input',
      'user_data',
    ],
    ['user_data not a string', { image: 'ubuntu-24.04', user_data: 7 }, 400, 'invalid_input', 'user_data'],
    ['an unknown image', { image: 'nope' }, 404, 'not_found', undefined],
  ])('refuses %s with %i %s, changing nothing', async (_what, body, status, code, field) => {
    const { f, id } = await booted();
    const answer = await call(f, 'POST', `/servers/${id}/actions/rebuild`, body);
    expect(answer).toMatchObject({ status, json: { error: { code } } });
    if (field !== undefined) expect(answer.json.error.details.fields[0].name).toBe(field);
    expect(f.server(id)?.rebuilds).toEqual([]);
    expect(f.server(id)?.userData).toBe('#cloud-config\n# old\n');
  });

  it('a server with a running action is locked; an unknown server is not found', async () => {
    const { f, id } = await booted();
    now -= ACTION_MS;
    const locked = await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' });
    expect(locked).toMatchObject({ status: 423, json: { error: { code: 'locked' } } });
    now += ACTION_MS;
    expect((await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' })).status).toBe(
      201,
    );
    expect((await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' })).status).toBe(
      423,
    );
    expect((await call(f, 'POST', '/servers/1/actions/rebuild', { image: 'ubuntu-24.04' })).status).toBe(404);
  });

  it('action faults: a rebuild that fails leaves the server off; one that hangs stays rebuilding', async () => {
    const { f, id } = await booted();
    f.injectActionFault({ command: 'rebuild_server', outcome: 'error', code: 'image_broken', times: 1 });
    const failed = await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' });
    now += ACTION_MS;
    expect((await call(f, 'GET', `/actions/${failed.json.action.id}`)).json.action).toMatchObject({
      status: 'error',
      error: { code: 'image_broken', message: 'Action failed' },
    });
    expect((await call(f, 'GET', `/servers/${id}`)).json.server.status).toBe('off');

    f.injectActionFault({ command: 'rebuild_server', outcome: 'hang' });
    const hung = await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' });
    now += 100 * ACTION_MS;
    expect((await call(f, 'GET', `/actions/${hung.json.action.id}`)).json.action).toMatchObject({
      status: 'running',
      finished: null,
    });
    expect((await call(f, 'GET', `/servers/${id}`)).json.server.status).toBe('rebuilding');
    f.clearFaults();
    expect(f.server(id)?.rebuilds).toHaveLength(2);
  });

  it('can lose the answer of a rebuild that did start', async () => {
    const { f, id } = await booted();
    f.loseRebuildResponses(1);
    await expect(
      call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' }),
    ).rejects.toThrow();
    expect(f.server(id)?.rebuilds).toHaveLength(1);
  });

  it('lists the actions of one server, newest first, filtered by status', async () => {
    const { f, id } = await booted();
    await create(f, 'other');
    const rebuilt = await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' });
    const all = await call(f, 'GET', `/servers/${id}/actions?sort=id:desc`);
    expect(all.json.actions.map((a: { command: string }) => a.command)).toEqual([
      'rebuild_server',
      'start_server',
      'create_server',
    ]);
    expect(all.json.meta.pagination.total_entries).toBe(3);
    const running = await call(f, 'GET', `/servers/${id}/actions?status=running`);
    expect(running.json.actions.map((a: { id: number }) => a.id)).toEqual([rebuilt.json.action.id]);
    expect((await call(f, 'GET', '/servers/1/actions')).status).toBe(404);
  });

  it('PUT renames and replaces the whole label set, validated like a create', async () => {
    const { f, id } = await booted();
    await create(f, 'taken');
    const updated = await call(f, 'PUT', `/servers/${id}`, { name: 'ff-2', labels: { e: '2' } });
    expect(updated).toMatchObject({ status: 200, json: { server: { name: 'ff-2', labels: { e: '2' } } } });
    expect(f.server(id)?.labels).toEqual({ e: '2' });
    expect((await call(f, 'PUT', `/servers/${id}`, { labels: {} })).json.server).toMatchObject({
      name: 'ff-2',
      labels: {},
    });
    expect((await call(f, 'PUT', `/servers/${id}`, { name: 'taken' })).json.error.code).toBe(
      'uniqueness_error',
    );
    const badName = await call(f, 'PUT', `/servers/${id}`, { name: 'Not_A_Host' });
    expect(badName.json.error.details.fields[0].name).toBe('name');
    const badLabels = await call(f, 'PUT', `/servers/${id}`, { labels: { scope: 'org:acme' } });
    expect(badLabels.json.error.details.fields[0].name).toBe('labels');
    expect(f.server(id)).toMatchObject({ name: 'ff-2', labels: {} });
  });
});
