import { describe, expect, it } from 'vitest';
import { api, manualClock, newWorld, rpc } from './__fixtures__/world.js';

interface RunnerJson {
  id: number;
  uuid: string;
  owner_id: number;
  repo_id: number;
  name: string;
  status: string;
  labels: string[] | null;
  [key: string]: unknown;
}
interface Registered {
  id: number;
  uuid: string;
  token: string;
}

async function register(w: ReturnType<typeof newWorld>, base: string, body: unknown, token = w.tokens.root) {
  const res = await api(w.fake, 'POST', `${base}/actions/runners`, { token, body });
  expect(res.status).toBe(201);
  return res.body as Registered;
}

describe('POST .../actions/runners (register)', () => {
  it('returns 201 {id, uuid, token}; labels stay null until the runner declares (trap 6)', async () => {
    const w = newWorld();
    const reg = await register(w, '/repos/acme/app', { name: 'vm-1', description: 'd', ephemeral: true });
    expect(Object.keys(reg)).toEqual(['id', 'uuid', 'token']);
    expect(reg.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const got = await api(w.fake, 'GET', `/repos/acme/app/actions/runners/${reg.id}`, {
      token: w.tokens.root,
    });
    expect(got.text).toBe(
      JSON.stringify({
        id: reg.id,
        uuid: reg.uuid,
        owner_id: 0,
        repo_id: w.repos.app.id,
        name: 'vm-1',
        status: 'offline',
        version: '',
        labels: null,
        description: 'd',
        ephemeral: true,
      }),
    );
    await rpc(w.fake, 'Declare', reg, { version: 'v12.8.2', labels: ['debian'] });
    const declared = await api(w.fake, 'GET', `/repos/acme/app/actions/runners/${reg.id}`, {
      token: w.tokens.root,
    });
    expect(declared.body).toMatchObject({ labels: ['debian'], version: 'v12.8.2', status: 'idle' });
  });

  it('ignores a labels field and needs a name (422 binding error)', async () => {
    const w = newWorld();
    const reg = await register(w, '/admin', { name: 'x', labels: ['gpu'] });
    expect(w.fake.runners().find((r) => r.id === reg.id)?.labels).toBeNull();
    for (const body of [{}, { name: '' }, { description: 'no name' }]) {
      const res = await api(w.fake, 'POST', '/admin/actions/runners', { token: w.tokens.root, body });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ message: '[Name]: Required', url: 'http://127.0.0.1:3000/api/swagger' });
    }
  });

  it.each([
    ['/admin', 'root', 0, 0],
    ['/orgs/acme', 'alice', 'acme', 0],
    ['/user', 'alice', 'alice', 0],
    ['/repos/acme/app', 'alice', 0, 'app'],
  ] as const)('%s registers a runner owned by that scope', async (base, who, owner, repo) => {
    const w = newWorld();
    const reg = await register(w, base, { name: 'r' }, w.tokens[who]);
    const runner = w.fake.runners().find((r) => r.id === reg.id);
    expect(runner?.ownerId).toBe(owner === 0 ? 0 : owner === 'acme' ? w.acme.id : w.alice.id);
    expect(runner?.repoId).toBe(repo === 0 ? 0 : w.repos.app.id);
  });
});

describe('GET .../actions/runners (list)', () => {
  async function world() {
    const w = newWorld();
    const global = await register(w, '/admin', { name: 'global' });
    const org = await register(w, '/orgs/acme', { name: 'org' });
    const repo = await register(w, '/repos/acme/app', { name: 'repo' });
    const other = await register(w, '/repos/acme/lib', { name: 'other-repo' });
    const user = await register(w, '/user', { name: 'user' }, w.tokens.alice);
    return { w, ids: { global: global.id, org: org.id, repo: repo.id, other: other.id, user: user.id } };
  }
  const names = async (w: ReturnType<typeof newWorld>, path: string, token = w.tokens.root) => {
    const res = await api(w.fake, 'GET', path, { token });
    expect(res.status).toBe(200);
    return (res.body as RunnerJson[]).map((r) => r.name).sort();
  };

  it('trap 7: admin without visible lists only global runners; visible=true lists all', async () => {
    const { w } = await world();
    expect(await names(w, '/admin/actions/runners')).toEqual(['global']);
    expect(await names(w, '/admin/actions/runners?visible=false')).toEqual(['global']);
    expect(await names(w, '/admin/actions/runners?visible=true')).toEqual([
      'global',
      'org',
      'other-repo',
      'repo',
      'user',
    ]);
  });

  it('org/user: own runners; visible=true adds global ones (not repo runners)', async () => {
    const { w } = await world();
    expect(await names(w, '/orgs/acme/actions/runners')).toEqual(['org']);
    expect(await names(w, '/orgs/acme/actions/runners?visible=true')).toEqual(['global', 'org']);
    expect(await names(w, '/user/actions/runners', w.tokens.alice)).toEqual(['user']);
    expect(await names(w, '/user/actions/runners?visible=1', w.tokens.alice)).toEqual(['global', 'user']);
  });

  it("repo: own runners; visible=true adds the owner's and global ones", async () => {
    const { w } = await world();
    expect(await names(w, '/repos/acme/app/actions/runners')).toEqual(['repo']);
    expect(await names(w, '/repos/acme/app/actions/runners?visible=true')).toEqual(['global', 'org', 'repo']);
    expect(await names(w, '/repos/alice/tool/actions/runners?visible=true')).toEqual(['global', 'user']);
  });

  it('is a bare array with X-Total-Count; Link only when there are more pages; limit clamps to 50', async () => {
    const w = newWorld();
    for (let i = 0; i < 7; i++) await register(w, '/admin', { name: `r${i}` });
    const one = await api(w.fake, 'GET', '/admin/actions/runners', { token: w.tokens.root });
    expect(one.headers.get('x-total-count')).toBe('7');
    expect(one.headers.get('link')).toBeNull();
    const p2 = await api(w.fake, 'GET', '/admin/actions/runners?limit=3&page=2', { token: w.tokens.root });
    expect((p2.body as RunnerJson[]).length).toBe(3);
    expect(p2.headers.get('x-total-count')).toBe('7');
    const base = 'http://127.0.0.1:3000/api/v1/admin/actions/runners';
    expect(p2.headers.get('link')).toBe(
      [
        `<${base}?limit=3&page=3>; rel="next"`,
        `<${base}?limit=3&page=3>; rel="last"`,
        `<${base}?limit=3&page=1>; rel="first"`,
        `<${base}?limit=3&page=1>; rel="prev"`,
      ].join(','),
    );
    const p3 = await api(w.fake, 'GET', '/admin/actions/runners?limit=3&page=3', { token: w.tokens.root });
    expect((p3.body as RunnerJson[]).length).toBe(1);
    expect(p3.headers.get('link')).not.toContain('rel="next"');
    const beyond = await api(w.fake, 'GET', '/admin/actions/runners?limit=3&page=9', {
      token: w.tokens.root,
    });
    expect(beyond.text).toBe('[]');
    for (let i = 0; i < 60; i++) await register(w, '/admin', { name: `bulk${i}` });
    const big = await api(w.fake, 'GET', '/admin/actions/runners?limit=500', { token: w.tokens.root });
    expect((big.body as RunnerJson[]).length).toBe(50);
    const dflt = await api(w.fake, 'GET', '/admin/actions/runners', { token: w.tokens.root });
    expect((dflt.body as RunnerJson[]).length).toBe(30);
    expect(dflt.headers.get('x-total-count')).toBe('67');
  });

  it('orders by last_online descending', async () => {
    const clock = manualClock();
    const w = newWorld({ now: clock.now });
    const a = await register(w, '/admin', { name: 'a' });
    const b = await register(w, '/admin', { name: 'b' });
    await register(w, '/admin', { name: 'never' });
    await rpc(w.fake, 'Declare', a, { labels: [] });
    clock.advance(1000);
    await rpc(w.fake, 'Declare', b, { labels: [] });
    const res = await api(w.fake, 'GET', '/admin/actions/runners', { token: w.tokens.root });
    expect((res.body as RunnerJson[]).map((r) => r.name)).toEqual(['b', 'a', 'never']);
  });
});

describe('runner status (trap 8)', () => {
  it('offline until seen, active within 10 s of activity, idle after, offline after 60 s silence', async () => {
    const clock = manualClock();
    const w = newWorld({ now: clock.now });
    const reg = await register(w, '/admin', { name: 'r' });
    const status = async () =>
      (
        (await api(w.fake, 'GET', `/admin/actions/runners/${reg.id}`, { token: w.tokens.root }))
          .body as RunnerJson
      ).status;
    expect(await status()).toBe('offline');
    clock.advance(3_600_000);
    expect(await status()).toBe('offline');
    await rpc(w.fake, 'Declare', reg, { labels: ['x'] });
    expect(await status()).toBe('idle');
    await rpc(w.fake, 'UpdateLog', reg, { taskId: '0', rows: [] });
    expect(await status()).toBe('active');
    clock.advance(10_000);
    expect(await status()).toBe('active');
    clock.advance(1);
    expect(await status()).toBe('idle');
    clock.advance(50_000);
    expect(await status()).toBe('offline');
    await rpc(w.fake, 'FetchTask', reg, {});
    expect(await status()).toBe('idle');
  });
});

describe('GET / DELETE .../actions/runners/{id}', () => {
  it('GET sees own and inherited runners, 404 otherwise', async () => {
    const w = newWorld();
    const global = await register(w, '/admin', { name: 'g' });
    const org = await register(w, '/orgs/acme', { name: 'o' });
    const lib = await register(w, '/repos/acme/lib', { name: 'l' });
    const get = async (path: string) => (await api(w.fake, 'GET', path, { token: w.tokens.root })).status;
    expect(await get(`/repos/acme/app/actions/runners/${global.id}`)).toBe(200);
    expect(await get(`/repos/acme/app/actions/runners/${org.id}`)).toBe(200);
    expect(await get(`/repos/acme/app/actions/runners/${lib.id}`)).toBe(404);
    expect(await get(`/orgs/acme/actions/runners/${lib.id}`)).toBe(404);
    expect(await get(`/repos/alice/tool/actions/runners/${org.id}`)).toBe(404);
    expect(await get(`/admin/actions/runners/${lib.id}`)).toBe(200);
    expect(await get('/admin/actions/runners/9999')).toBe(404);
    expect(await get('/admin/actions/runners/abc')).toBe(404);
  });

  it('DELETE of a visible but inherited runner -> 404 "No permission to delete this runner"', async () => {
    const w = newWorld();
    const global = await register(w, '/admin', { name: 'g' });
    const res = await api(w.fake, 'DELETE', `/orgs/acme/actions/runners/${global.id}`, {
      token: w.tokens.alice,
    });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      message: 'No permission to delete this runner',
      url: 'http://127.0.0.1:3000/api/swagger',
    });
    expect(w.fake.runners()[0]?.deleted).toBe(false);
  });

  it('DELETE -> 204, soft delete: uuid rewritten, then 404 and the token stops working', async () => {
    const w = newWorld();
    const reg = await register(w, '/orgs/acme', { name: 'r' }, w.tokens.alice);
    await rpc(w.fake, 'Declare', reg, { labels: ['x'] });
    const del = await api(w.fake, 'DELETE', `/orgs/acme/actions/runners/${reg.id}`, {
      token: w.tokens.alice,
    });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const runner = w.fake.runners().find((r) => r.id === reg.id);
    expect(runner).toMatchObject({
      deleted: true,
      uuid: `ffffffff-ffff-ffff-${reg.id.toString(16).padStart(2, '0')}00-000000000000`,
    });
    expect(
      (await api(w.fake, 'GET', `/orgs/acme/actions/runners/${reg.id}`, { token: w.tokens.alice })).status,
    ).toBe(404);
    expect(
      (await api(w.fake, 'DELETE', `/orgs/acme/actions/runners/${reg.id}`, { token: w.tokens.alice })).status,
    ).toBe(404);
    const list = await api(w.fake, 'GET', '/admin/actions/runners?visible=true', { token: w.tokens.root });
    expect(list.text).toBe('[]');
    const denied = await rpc(w.fake, 'FetchTask', reg, {});
    expect(denied).toEqual({
      status: 401,
      body: { code: 'unauthenticated', message: 'unregistered runner' },
    });
  });

  it('soft-delete uuid is ffffffff-ffff-ffff- + little-endian id', async () => {
    const w = newWorld();
    let last: Registered | undefined;
    for (let i = 0; i < 300; i++) last = await register(w, '/admin', { name: `r${i}` });
    if (!last) throw new Error('no runner');
    await api(w.fake, 'DELETE', `/admin/actions/runners/${last.id}`, { token: w.tokens.root });
    // 300 = 0x012c -> little-endian bytes 2c 01 00 00 00 00 00 00
    expect(w.fake.runners().find((r) => r.id === 300)?.uuid).toBe('ffffffff-ffff-ffff-2c01-000000000000');
  });
});

describe('ephemeral runners (trap 9)', () => {
  it('are soft-deleted after reporting a final result; a later DELETE gets 404', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await register(w, '/orgs/acme', { name: 'e', ephemeral: true }, w.tokens.alice);
    await rpc(w.fake, 'Declare', reg, { labels: ['x'] });
    const fetched = await rpc(w.fake, 'FetchSingleTask', reg, { handle: job.handle });
    const task = fetched.body.task as { id: string };
    const upd = await rpc(w.fake, 'UpdateTask', reg, { state: { id: task.id, result: 'RESULT_FAILURE' } });
    expect(upd.body).toEqual({ state: { id: task.id, result: 'RESULT_FAILURE' }, sentOutputs: [] });
    expect(w.fake.runners()[0]?.deleted).toBe(true);
    expect(w.fake.jobs()[0]?.status).toBe('failure');
    expect(
      (await api(w.fake, 'DELETE', `/orgs/acme/actions/runners/${reg.id}`, { token: w.tokens.alice })).status,
    ).toBe(404);
  });

  it('are soft-deleted when their task is stopped by a cancel', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await register(w, '/admin', { name: 'e', ephemeral: true });
    await rpc(w.fake, 'Declare', reg, { labels: ['x'] });
    await rpc(w.fake, 'FetchTask', reg, {});
    w.fake.cancelJob(job.handle);
    expect(w.fake.runners()[0]).toMatchObject({ deleted: true });
    expect(
      (await rpc(w.fake, 'UpdateTask', reg, { state: { id: '1', result: 'RESULT_SUCCESS' } })).status,
    ).toBe(401);
  });

  it('a never-used registration stays forever (offline), until deleted', async () => {
    const clock = manualClock();
    const w = newWorld({ now: clock.now });
    const reg = await register(w, '/admin', { name: 'unused', ephemeral: true });
    clock.advance(30 * 24 * 3_600_000);
    const res = await api(w.fake, 'GET', `/admin/actions/runners/${reg.id}`, { token: w.tokens.root });
    expect(res.body).toMatchObject({ status: 'offline', ephemeral: true });
    expect(
      (await api(w.fake, 'DELETE', `/admin/actions/runners/${reg.id}`, { token: w.tokens.root })).status,
    ).toBe(204);
  });

  it('a persistent runner survives its task', async () => {
    const w = newWorld();
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await register(w, '/admin', { name: 'p' });
    await rpc(w.fake, 'Declare', reg, { labels: ['x'] });
    await rpc(w.fake, 'FetchTask', reg, {});
    await rpc(w.fake, 'UpdateTask', reg, { state: { id: '1', result: 'RESULT_SUCCESS' } });
    expect(w.fake.runners()[0]?.deleted).toBe(false);
    const second = await rpc(w.fake, 'FetchTask', reg, {});
    expect(second.body.task).toMatchObject({ id: '2' });
  });
});
