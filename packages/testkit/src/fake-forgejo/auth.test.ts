import { describe, expect, it } from 'vitest';
import { api, newWorld } from './__fixtures__/world.js';

const SWAGGER = 'http://127.0.0.1:3000/api/swagger';

const scopes = [
  { scope: 'admin', base: '/admin', category: 'admin' },
  { scope: 'org', base: '/orgs/acme', category: 'organization' },
  { scope: 'user', base: '/user', category: 'user' },
  { scope: 'repo', base: '/repos/acme/app', category: 'repository' },
] as const;

describe('authentication and token scopes', () => {
  it.each(scopes)('$scope: no token -> 401 token is required', async ({ base }) => {
    const w = newWorld();
    for (const path of [`${base}/actions/runners/jobs`, `${base}/actions/runners`, `${base}/hooks`]) {
      const res = await api(w.fake, 'GET', path);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: 'token is required', url: SWAGGER });
    }
  });

  it.each(scopes)('$scope: unknown token -> 401', async ({ base }) => {
    const w = newWorld();
    const res = await api(w.fake, 'GET', `${base}/actions/runners/jobs`, { token: 'nope' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ url: SWAGGER });
  });

  it.each(scopes)(
    '$scope: token without the category scope -> 403 naming read:/write:',
    async ({ base, category }) => {
      const w = newWorld();
      const read = await api(w.fake, 'GET', `${base}/actions/runners`, { token: w.tokens.aliceNoScope });
      expect(read.status).toBe(403);
      expect(read.body).toEqual({
        message: `token does not have at least one of required scope(s): [read:${category}]`,
        url: SWAGGER,
      });
      const write = await api(w.fake, 'POST', `${base}/actions/runners`, {
        token: w.tokens.aliceNoScope,
        body: { name: 'x' },
      });
      expect(write.status).toBe(403);
      expect((write.body as { message: string }).message).toContain(`[write:${category}]`);
    },
  );

  it('a read token cannot write; write implies read; `all` covers everything', async () => {
    const w = newWorld();
    const denied = await api(w.fake, 'POST', '/admin/actions/runners', {
      token: w.tokens.rootRead,
      body: { name: 'x' },
    });
    expect(denied.status).toBe(403);
    expect((denied.body as { message: string }).message).toBe(
      'token does not have at least one of required scope(s): [write:admin]',
    );
    expect((await api(w.fake, 'GET', '/admin/actions/runners', { token: w.tokens.rootRead })).status).toBe(
      200,
    );
    expect(
      (await api(w.fake, 'GET', '/orgs/acme/actions/runners', { token: w.tokens.aliceOrgWrite })).status,
    ).toBe(200);
    expect(
      (await api(w.fake, 'DELETE', '/orgs/acme/actions/runners/99', { token: w.tokens.aliceOrgWrite }))
        .status,
    ).toBe(404);
    expect(
      (await api(w.fake, 'GET', '/repos/acme/app/hooks', { token: w.tokens.aliceRepoRead })).status,
    ).toBe(200);
    expect((await api(w.fake, 'GET', '/user/hooks', { token: w.tokens.alice })).status).toBe(200);
  });

  it.each(['token', 'Token', 'TOKEN', 'Bearer', 'bearer', 'bEaReR'])(
    'accepts the "%s" scheme',
    async (scheme) => {
      const w = newWorld();
      const res = await api(w.fake, 'GET', '/user/actions/runners', { token: w.tokens.alice, scheme });
      expect(res.status).toBe(200);
    },
  );
});

describe('permissions per scope', () => {
  it('admin endpoints need a site admin', async () => {
    const w = newWorld();
    const res = await api(w.fake, 'GET', '/admin/actions/runners/jobs', { token: w.tokens.alice });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'user should be the site admin', url: SWAGGER });
    expect((await api(w.fake, 'GET', '/admin/runners/jobs', { token: w.tokens.bob })).status).toBe(403);
  });

  it('org endpoints need an org owner (site admin passes); unknown org or a user name -> 404', async () => {
    const w = newWorld();
    const res = await api(w.fake, 'GET', '/orgs/acme/actions/runners/jobs', { token: w.tokens.bob });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'Must be an organization owner', url: SWAGGER });
    expect((await api(w.fake, 'GET', '/orgs/acme/hooks', { token: w.tokens.bob })).status).toBe(403);
    expect((await api(w.fake, 'GET', '/orgs/acme/actions/runners', { token: w.tokens.root })).status).toBe(
      200,
    );
    const missing = await api(w.fake, 'GET', '/orgs/nope/actions/runners', { token: w.tokens.alice });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: "The target couldn't be found.", url: SWAGGER, errors: [] });
    expect((await api(w.fake, 'GET', '/orgs/bob/actions/runners', { token: w.tokens.root })).status).toBe(
      404,
    );
  });

  it('repo endpoints need the repo owner (user, org owner) or a site admin', async () => {
    const w = newWorld();
    expect(
      (await api(w.fake, 'GET', '/repos/acme/app/actions/runners', { token: w.tokens.alice })).status,
    ).toBe(200);
    expect(
      (await api(w.fake, 'GET', '/repos/alice/tool/actions/runners', { token: w.tokens.alice })).status,
    ).toBe(200);
    expect(
      (await api(w.fake, 'GET', '/repos/bob/own/actions/runners', { token: w.tokens.root })).status,
    ).toBe(200);
    const denied = await api(w.fake, 'GET', '/repos/acme/app/actions/runners/jobs', { token: w.tokens.bob });
    expect(denied.status).toBe(403);
    expect((await api(w.fake, 'GET', '/repos/acme/app/hooks', { token: w.tokens.bob })).status).toBe(403);
    expect(
      (await api(w.fake, 'GET', '/repos/bob/own/actions/runners', { token: w.tokens.alice })).status,
    ).toBe(403);
    const missing = await api(w.fake, 'GET', '/repos/acme/nope/actions/runners', { token: w.tokens.root });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ errors: [] });
  });

  it('a repo with Actions disabled 404s on actions endpoints, hooks still work', async () => {
    const w = newWorld();
    for (const [method, path] of [
      ['GET', '/repos/acme/off/actions/runners/jobs'],
      ['GET', '/repos/acme/off/actions/runners'],
      ['POST', '/repos/acme/off/actions/runners'],
      ['GET', '/repos/acme/off/actions/runners/1'],
      ['DELETE', '/repos/acme/off/actions/runners/1'],
    ] as const) {
      const res = await api(w.fake, method, path, {
        token: w.tokens.alice,
        ...(method === 'POST' ? { body: { name: 'x' } } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await api(w.fake, 'GET', '/repos/acme/off/hooks', { token: w.tokens.alice })).status).toBe(200);
  });

  it('user scope is the token owner', async () => {
    const w = newWorld();
    w.fake.enqueueJob({ repo: 'alice/tool', runsOn: ['a'] });
    w.fake.enqueueJob({ repo: 'bob/own', runsOn: ['a'] });
    const alice = await api(w.fake, 'GET', '/user/actions/runners/jobs', { token: w.tokens.alice });
    expect((alice.body as { repo_id: number }[]).map((j) => j.repo_id)).toEqual([w.repos.tool.id]);
    const bob = await api(w.fake, 'GET', '/user/actions/runners/jobs', { token: w.tokens.bob });
    expect((bob.body as { repo_id: number }[]).map((j) => j.repo_id)).toEqual([w.repos.own.id]);
  });
});
