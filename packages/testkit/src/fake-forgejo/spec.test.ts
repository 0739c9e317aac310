import { createForgejoClient, parseScope } from '@forgejo-fleet/forgejo';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAnswer } from '../fake-answer.js';
import {
  checkAnswers,
  createResponseChecker,
  type Deviations,
  type ResponseChecker,
} from '../spec-check/response-checker.js';
import { FORGEJO_SPEC, loadSpec } from '../spec-check/spec-files.js';
import { RUNNER_SERVICE_PATH } from './rpc-protocol.js';
import { type RunningFakeForgejo, startFakeForgejo } from './server.js';

// Every answer the fake Forgejo gives during a broad exercise (the real Forgejo client in every scope,
// then a table of direct requests with every error the fake can give) is validated against
// ../shared/specs/forgejo-swagger.v1.json (Swagger 2.0, Forgejo 15). The real Forgejo departs from its
// own spec in the ways below, and the fake copies them on purpose; nothing else is allowed.
const DEVIATIONS = {
  nullForEmptyList: {
    name: 'null for an empty list',
    reason:
      'Go marshals a nil slice as null: the jobs list when no job waits, a job without needs or runs-on, ' +
      'a runner that has not declared its labels yet',
  },
  addedProperties: [
    {
      schema: '#/definitions/User',
      property: 'username',
      name: 'User.username',
      reason:
        'User.MarshalJSON (modules/structs/user.go) adds `username`, a copy of `login`, for old clients; the ' +
        'swagger, generated from the struct, does not list it',
    },
  ],
  extraStatuses: [
    {
      status: 401,
      response: '#/responses/unauthorized',
      name: '401 from token auth',
      reason: 'the token check runs before every handler; the spec lists 401 only on a few operations',
    },
    {
      status: 403,
      response: '#/responses/forbidden',
      name: '403 from scope and ownership checks',
      reason:
        'token scopes, site admin, org owner and repo owner are checked by middleware before the handler, ' +
        'which is all the spec describes',
    },
    {
      status: 404,
      response: '#/responses/notFound',
      name: '404 from org and repo lookup',
      reason:
        'the org/repo assignment middleware (and a repo with Actions off) answers 404 before the handler',
    },
    {
      status: 422,
      response: '#/responses/validationError',
      name: '422 from body binding and hook option checks',
      reason:
        'the JSON binding middleware and checkCreateHookOption answer 422 with {message, url}; the hook and ' +
        'runner operations do not declare it',
    },
    {
      status: 500,
      response: '#/responses/error',
      name: '500 on an internal error',
      reason: 'any handler answers an internal error with APIError {message, url}; the spec never lists it',
    },
  ],
  outsideSpec: [
    {
      pathPrefix: `${RUNNER_SERVICE_PATH}/`,
      name: 'runner RPC is not REST',
      reason:
        'the runner protocol is connect-RPC (runner.v1), not part of the swagger document; rpc-protocol.ts ' +
        'holds its schemas',
    },
  ],
} as const satisfies Deviations;

const answers: FakeAnswer[] = [];
let checker: ResponseChecker;
let fake: RunningFakeForgejo;
let agent: Agent;
let tokens: Record<'root' | 'alice' | 'bob' | 'aliceUserOnly', string>;

beforeAll(async () => {
  // A missing spec fails here with the path and what to do; the test never skips.
  checker = createResponseChecker(loadSpec(FORGEJO_SPEC), { basePath: '/api/v1', deviations: DEVIATIONS });
  fake = await startFakeForgejo({ onAnswer: (a) => answers.push(a) });
  fake.addUser({ name: 'root', admin: true });
  fake.addUser({ name: 'alice' });
  fake.addUser({ name: 'bob' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  fake.addRepo({ owner: 'acme', name: 'app' });
  fake.addRepo({ owner: 'acme', name: 'off', actionsEnabled: false });
  fake.addRepo({ owner: 'alice', name: 'site' });
  tokens = {
    root: fake.addToken({ user: 'root', scopes: ['all'] }),
    alice: fake.addToken({ user: 'alice', scopes: ['all'] }),
    bob: fake.addToken({ user: 'bob', scopes: ['all'] }),
    aliceUserOnly: fake.addToken({ user: 'alice', scopes: ['read:user'] }),
  };
  agent = new Agent();
});

afterAll(async () => {
  await agent?.close();
  await fake?.close();
});

function client(token: string) {
  return createForgejoClient({
    apiUrl: `${fake.url}/`,
    token,
    dispatcher: agent,
    sleep: async () => undefined,
    random: () => 0,
  });
}

async function call(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `token ${token}` }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

const hookBody = {
  type: 'forgejo',
  config: { url: 'https://fleet.example/webhook', content_type: 'json', secret: 's3cret' },
  events: ['action_run_success', 'action_run_failure'],
  active: true,
} as const;

async function exerciseWithClient(): Promise<void> {
  const scopes = [
    ['instance', tokens.root],
    ['org:acme', tokens.alice],
    ['user:alice', tokens.alice],
    ['repo:acme/app', tokens.alice],
  ] as const;
  for (const [text, token] of scopes) {
    const scope = parseScope(text);
    const forgejo = client(token);
    expect(await forgejo.listJobs(scope)).toEqual([]);
    const runner = await forgejo.registerRunner(scope, { name: `r-${text}`, ephemeral: true });
    expect(await forgejo.getRunner(scope, runner.id)).toMatchObject({ id: runner.id, labels: [] });
    await forgejo.listRunners(scope);
    await forgejo.listRunners(scope, { visible: true });
    const hook = await forgejo.createHook(scope, hookBody);
    await forgejo.listHooks(scope);
    await forgejo.editHook(scope, hook.id, { events: ['action_run_recover'], active: false });
    expect(await forgejo.deleteHook(scope, hook.id)).toBe('deleted');
    expect(await forgejo.deleteHook(scope, hook.id)).toBe('not-found');
    expect(await forgejo.deleteRunner(scope, runner.id)).toBe('deleted');
    expect(await forgejo.getRunner(scope, runner.id)).toBeUndefined();
    expect(await forgejo.deleteRunner(scope, runner.id)).toBe('not-found');
  }
  const alice = client(tokens.alice);
  await alice.getRepo('acme', 'app');
  expect(await alice.getRepo('acme', 'nope')).toBeUndefined();
  await alice.getOrg('acme');
  expect(await alice.getOrg('nope')).toBeUndefined();
  await alice.getCurrentUser();

  // Jobs with and without needs and labels, one running on a runner that declared its labels.
  fake.enqueueJob({ repo: 'acme/app', runsOn: ['linux', 'small'], needs: ['build'] });
  fake.enqueueJob({ repo: 'acme/app', runsOn: null });
  const running = fake.enqueueJob({ repo: 'alice/site', runsOn: ['linux'] });
  const org = parseScope('org:acme');
  const declared = await alice.registerRunner(parseScope('user:alice'), {
    name: 'declared',
    ephemeral: false,
  });
  const rpc = { 'x-runner-uuid': declared.uuid, 'x-runner-token': declared.token };
  expect(
    (await call('POST', `${RUNNER_SERVICE_PATH}/Declare`, undefined, { labels: ['linux'] }, rpc)).status,
  ).toBe(200);
  const picked = { handle: running.handle };
  expect((await call('POST', `${RUNNER_SERVICE_PATH}/FetchSingleTask`, undefined, picked, rpc)).status).toBe(
    200,
  );
  expect(await alice.listJobs(org)).toHaveLength(2);
  expect(await alice.listJobs(org, { labels: ['linux', 'small'] })).toHaveLength(1);
  expect(await client(tokens.root).listJobs(parseScope('instance'))).toHaveLength(3);
  await alice.listRunners(parseScope('user:alice'));
  // More runners than one page (the client follows the Link header).
  for (let i = 0; i < 55; i++) await alice.registerRunner(org, { name: `bulk-${i}`, ephemeral: true });
  expect(await alice.listRunners(org)).toHaveLength(55);
}

/** Direct requests: the routes and answers the client does not reach, every error status included. */
async function exerciseDirectly(): Promise<void> {
  const { root, alice, bob, aliceUserOnly } = tokens;
  const system = await call('POST', '/api/v1/admin/hooks', root, {
    ...hookBody,
    config: { ...hookBody.config, is_system_webhook: 'true' },
  });
  const systemId = (system.json as { id: number }).id;
  const userHook = (await call('POST', '/api/v1/user/hooks', alice, hookBody)).json as { id: number };
  const table: [string, string, string | undefined, unknown, number][] = [
    ['GET', '/api/v1/user', undefined, undefined, 401],
    ['GET', '/api/v1/orgs/acme/actions/runners/jobs', 'not-a-token', undefined, 401],
    ['GET', '/api/v1/orgs/acme/actions/runners', aliceUserOnly, undefined, 403],
    ['GET', '/api/v1/orgs/acme/hooks', bob, undefined, 403],
    ['POST', '/api/v1/orgs/acme/actions/runners', bob, { name: 'x' }, 403],
    ['GET', '/api/v1/admin/actions/runners/jobs', alice, undefined, 403],
    ['GET', '/api/v1/admin/hooks', alice, undefined, 403],
    ['GET', '/api/v1/repos/acme/app/actions/runners', bob, undefined, 403],
    ['GET', '/api/v1/repos/acme/app/hooks', bob, undefined, 403],
    ['GET', '/api/v1/orgs/nope/actions/runners/jobs', alice, undefined, 404],
    ['GET', '/api/v1/repos/acme/nope/hooks', alice, undefined, 404],
    ['GET', '/api/v1/repos/acme/off/actions/runners', alice, undefined, 404],
    ['GET', '/api/v1/repos/acme/off/actions/runners/jobs', alice, undefined, 404],
    ['GET', '/api/v1/orgs/acme/actions/runners/999999', alice, undefined, 404],
    ['DELETE', '/api/v1/orgs/acme/actions/runners/999999', alice, undefined, 404],
    ['GET', '/api/v1/user/hooks/999999', alice, undefined, 404],
    ['PATCH', '/api/v1/repos/acme/app/hooks/999999', alice, { active: true }, 404],
    ['GET', '/api/v1/admin/hooks/999999', root, undefined, 404],
    ['POST', '/api/v1/orgs/acme/actions/runners', alice, {}, 422],
    ['POST', '/api/v1/orgs/acme/actions/runners', alice, '{not json', 422],
    ['POST', '/api/v1/user/actions/runners', alice, { name: 7 }, 422],
    ['POST', '/api/v1/orgs/acme/hooks', alice, { config: hookBody.config }, 422],
    ['POST', '/api/v1/orgs/acme/hooks', alice, { type: 'forgejo' }, 422],
    ['POST', '/api/v1/orgs/acme/hooks', alice, { ...hookBody, type: 'nope' }, 422],
    ['POST', '/api/v1/orgs/acme/hooks', alice, { ...hookBody, config: { url: 'https://x.example' } }, 422],
    [
      'POST',
      '/api/v1/orgs/acme/hooks',
      alice,
      { ...hookBody, config: { url: 'x', content_type: 'json' } },
      422,
    ],
    [
      'POST',
      '/api/v1/orgs/acme/hooks',
      alice,
      { ...hookBody, config: { url: 'https://x.example', content_type: 'xml' } },
      422,
    ],
    [
      'POST',
      '/api/v1/admin/hooks',
      root,
      { ...hookBody, config: { ...hookBody.config, is_system_webhook: 'maybe' } },
      422,
    ],
    ['GET', '/api/v1/admin/runners/jobs', root, undefined, 200],
    ['GET', '/api/v1/repos/acme/app/actions/runners/jobs?labels=', alice, undefined, 200],
    ['GET', '/api/v1/orgs/acme/actions/runners/jobs?labels=gpu', alice, undefined, 200],
    ['GET', '/api/v1/orgs/acme/actions/runners?page=2&limit=10', alice, undefined, 200],
    ['GET', '/api/v1/repos/acme/app/actions/runners?visible=true', alice, undefined, 200],
    ['GET', '/api/v1/admin/actions/runners', root, undefined, 200],
    ['POST', '/api/v1/admin/actions/runners', root, { name: 'global', description: 'all repos' }, 201],
    ['GET', '/api/v1/admin/hooks', root, undefined, 200],
    ['GET', `/api/v1/admin/hooks/${systemId}`, root, undefined, 200],
    ['PATCH', `/api/v1/admin/hooks/${systemId}`, root, { config: { url: 'https://y.example' } }, 200],
    ['POST', '/api/v1/admin/hooks', root, hookBody, 201],
    ['PATCH', `/api/v1/admin/hooks/${systemId}`, root, { config: { url: 'nope' } }, 422],
    ['DELETE', `/api/v1/admin/hooks/${systemId}`, root, undefined, 204],
    ['GET', '/api/v1/user/hooks', alice, undefined, 200],
    ['GET', `/api/v1/user/hooks/${userHook.id}`, alice, undefined, 200],
    ['GET', `/api/v1/orgs/acme/hooks/${userHook.id}`, alice, undefined, 404],
    ['GET', `/api/v1/repos/acme/app/hooks/${userHook.id}`, alice, undefined, 404],
    ['GET', '/api/v1/repos/alice/site', bob, undefined, 200],
  ];
  for (const [method, path, token, body, status] of table) {
    const got = (await call(method, path, token, body)).status;
    expect(`${method} ${path} → ${got}`).toBe(`${method} ${path} → ${status}`);
  }
  fake.injectFault({ method: 'GET', path: '/orgs/acme/hooks', status: 500, times: 1 });
  expect((await call('GET', '/api/v1/orgs/acme/hooks', alice)).status).toBe(500);
}

describe('fake Forgejo against forgejo-swagger.v1.json', () => {
  it('answers every request of the client and of the route table as the spec describes', async () => {
    await exerciseWithClient();
    await exerciseDirectly();

    const summary = checkAnswers(checker, answers);
    expect(summary.failures).toEqual([]);
    // Every documented deviation is needed (none is stale), and no other.
    const documented = [
      DEVIATIONS.nullForEmptyList.name,
      ...DEVIATIONS.addedProperties.map((d) => d.name),
      ...DEVIATIONS.extraStatuses.map((d) => d.name),
      ...DEVIATIONS.outsideSpec.map((d) => d.name),
    ];
    expect([...summary.deviationsUsed.keys()].sort()).toEqual(documented.sort());
    // The exercise reached every operation the fake serves, with its success and error answers.
    expect([...summary.covered].sort()).toEqual(
      [
        'adminCreateHook 201',
        'adminCreateHook 422',
        'adminDeleteHook 204',
        'adminDeleteHook 404',
        'adminEditHook 200',
        'adminEditHook 422',
        'adminGetActionRunJobs 200',
        'adminGetActionRunJobs 403',
        'adminGetHook 200',
        'adminGetHook 404',
        'adminListHooks 200',
        'adminListHooks 403',
        'adminSearchRunJobs 200',
        'deleteAdminRunner 204',
        'deleteAdminRunner 404',
        'deleteOrgRunner 204',
        'deleteOrgRunner 404',
        'deleteRepoRunner 204',
        'deleteRepoRunner 404',
        'deleteUserRunner 204',
        'deleteUserRunner 404',
        'getAdminRunner 200',
        'getAdminRunner 404',
        'getAdminRunners 200',
        'getOrgRunner 200',
        'getOrgRunner 404',
        'getOrgRunners 200',
        'getOrgRunners 403',
        'getRepoRunner 200',
        'getRepoRunner 404',
        'getRepoRunners 200',
        'getRepoRunners 403',
        'getRepoRunners 404',
        'getUserRunner 200',
        'getUserRunner 404',
        'getUserRunners 200',
        'orgCreateHook 201',
        'orgCreateHook 422',
        'orgDeleteHook 204',
        'orgDeleteHook 404',
        'orgEditHook 200',
        'orgGet 200',
        'orgGet 404',
        'orgGetHook 404',
        'orgListHooks 200',
        'orgListHooks 403',
        'orgListHooks 500',
        'orgSearchRunJobs 200',
        'orgSearchRunJobs 401',
        'orgSearchRunJobs 404',
        'registerAdminRunner 201',
        'registerOrgRunner 201',
        'registerOrgRunner 403',
        'registerOrgRunner 422',
        'registerRepoRunner 201',
        'registerUserRunner 201',
        'registerUserRunner 422',
        'repoCreateHook 201',
        'repoDeleteHook 204',
        'repoDeleteHook 404',
        'repoEditHook 200',
        'repoEditHook 404',
        'repoGet 200',
        'repoGet 404',
        'repoGetHook 404',
        'repoListHooks 200',
        'repoListHooks 403',
        'repoListHooks 404',
        'repoSearchRunJobs 200',
        'repoSearchRunJobs 404',
        'userCreateHook 201',
        'userDeleteHook 204',
        'userDeleteHook 404',
        'userEditHook 200',
        'userGetCurrent 200',
        'userGetCurrent 401',
        'userGetHook 200',
        'userGetHook 404',
        'userListHooks 200',
        'userSearchRunJobs 200',
      ].sort(),
    );
  });
});
