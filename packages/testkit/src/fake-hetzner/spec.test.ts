import { Secret } from '@forgejo-fleet/config';
import { createHetznerProvider, type ProviderClock } from '@forgejo-fleet/providers';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAnswer } from '../fake-answer.js';
import { checkAnswers, createResponseChecker, type ResponseChecker } from '../spec-check/response-checker.js';
import { HCLOUD_SPEC, loadSpec } from '../spec-check/spec-files.js';
import { type RunningFakeHetzner, startFakeHetzner } from './server.js';

// Every answer the fake Hetzner gives during a broad exercise (the real Hetzner provider, then a table
// of direct requests over every route the fake serves, error answers included) is validated against
// ../shared/specs/hcloud-openapi.json. Allowed deviations: none. Hetzner's spec has `4xx`/`5xx` ranges
// for every operation, so every error status must match `error_response`.

const START = 1_700_000_000_000;
const ACTION_MS = 10_000;

/** Virtual time shared by the fake and the provider: a sleep (rate-limit wait, backoff) moves it. */
function virtualClock(): ProviderClock & { advance(ms: number): void } {
  let now = START;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
    async sleep(ms) {
      now += Math.max(0, ms);
    },
  };
}

const answers: FakeAnswer[] = [];
let checker: ResponseChecker;
let fake: RunningFakeHetzner;
let limited: RunningFakeHetzner;
let agent: Agent;
const clock = virtualClock();

beforeAll(async () => {
  // A missing spec fails here with the path and what to do; the test never skips.
  checker = createResponseChecker(loadSpec(HCLOUD_SPEC), { basePath: '/v1' });
  fake = await startFakeHetzner({ now: clock.now, actionMs: ACTION_MS, onAnswer: (a) => answers.push(a) });
  limited = await startFakeHetzner({
    now: clock.now,
    rateLimit: { limit: 1, refillPerSecond: 1 },
    onAnswer: (a) => answers.push(a),
  });
  agent = new Agent();
});

afterAll(async () => {
  await agent?.close();
  await fake?.close();
  await limited?.close();
});

async function call(
  f: RunningFakeHetzner,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string; raw?: string } = {},
): Promise<number> {
  const res = await fetch(`${f.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${opts.token ?? f.token}`, 'content-type': 'application/json' },
    ...(opts.raw !== undefined
      ? { body: opts.raw }
      : body === undefined
        ? {}
        : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

const server = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  server_type: 'cpx22',
  image: 'ubuntu-24.04',
  location: 'fsn1',
  ...extra,
});

async function exerciseWithProvider(): Promise<void> {
  const runnerImage = fake.addImage({ type: 'snapshot', labels: { role: 'runner' }, name: 'runner-v1' });
  fake.addImage({ type: 'snapshot', status: 'creating', labels: { role: 'runner' } });
  const provider = createHetznerProvider(
    'hetzner-spec',
    {
      endpoint: fake.url,
      token: new Secret(fake.token, 'test'),
      server_types: ['cpx22', 'cax11'],
      locations: ['fsn1', 'nbg1'],
      image: { label_selector: 'role=runner' },
      ssh_keys: ['ops'],
      firewalls: [7],
      networks: [11],
      public_net: { ipv4: true, ipv6: true },
      hourly_prices: undefined,
    },
    undefined,
    { dispatcher: agent, clock },
  );
  const tags = { fleet: 'spec', dispatch: 'd-1' };
  const spec = (n: number) => ({
    name: `spec-${n}`,
    idempotencyKey: `key-${n}`,
    userData: '#!/bin/sh\n',
    tags,
  });

  const made = await provider.create(spec(1));
  expect(fake.server(made.id)?.image).toBe(String(runnerImage));
  clock.advance(ACTION_MS);
  await provider.get(made.id);
  await provider.get('999999');
  // The same dispatch again: 409 uniqueness_error, then adopted by name.
  await provider.create(spec(1));
  // A lost answer: the server is made, the connection dropped (not an answer), then looked up by name.
  fake.loseCreateResponses(1);
  await provider.create(spec(2));
  // Capacity on the first choice, a 429 and a 503 on retries.
  fake.injectCreateError({ serverType: 'cpx22', location: 'fsn1', code: 'resource_unavailable', times: 1 });
  await expect(provider.create(spec(3))).rejects.toThrow();
  fake.injectFault({ method: 'GET', path: '/servers', code: 'rate_limit_exceeded', times: 1 });
  fake.injectFault({ method: 'GET', path: '/servers', code: 'service_error', times: 1 });
  // Over two pages (the provider asks for 50 a page).
  for (let i = 4; i < 54; i++) await provider.create(spec(i));
  expect(await provider.list({ fleet: 'spec' })).toHaveLength(52);
  for (let i = 0; i < 3; i++) expect(await call(fake, 'POST', '/servers', server(`bulk-${i}`))).toBe(201);
  // Reuse for another dispatch: claim (PUT), rebuild, wait for the action, mark done (PUT).
  const rebuilt = await provider.rebuild?.(made.id, spec(60));
  expect(rebuilt?.name).toBe('spec-60');
  expect(fake.server(made.id)?.rebuilds).toHaveLength(1);
  await provider.delete(made.id);
  await provider.delete(made.id);
}

/** Direct requests: every route the fake serves, with each answer it can give. */
async function exerciseDirectly(): Promise<void> {
  const f = fake;
  const kept = f.servers().find((s) => s.name === 'bulk-0')?.id ?? 0;
  const table: [string, string, unknown, number, { token?: string; raw?: string }?][] = [
    ['GET', '/servers', undefined, 401, { token: 'wrong' }],
    ['GET', '/servers?per_page=2&page=2&sort=id', undefined, 200],
    ['GET', '/servers?status=running&status=off', undefined, 200],
    ['GET', '/servers?name=spec-1', undefined, 200],
    ['GET', `/servers?label_selector=${encodeURIComponent('fleet=spec,dispatch!=x')}`, undefined, 200],
    ['GET', '/servers?label_selector=a%3D%3D%3D', undefined, 400],
    ['POST', '/servers', undefined, 400, { raw: '{not json' }],
    ['POST', '/servers', { server_type: 'cpx22', image: 'ubuntu-24.04' }, 400],
    ['POST', '/servers', server('Not_A_Host'), 400],
    ['POST', '/servers', server('x1', { server_type: 'cpx99' }), 404],
    ['POST', '/servers', server('x1', { image: 'nope' }), 404],
    ['POST', '/servers', server('x1', { datacenter: 'fsn1-dc14' }), 400],
    ['POST', '/servers', server('x1', { location: 'mars1' }), 400],
    ['POST', '/servers', server('x1', { labels: { 'hetzner.cloud/x': 'y' } }), 400],
    ['POST', '/servers', server('x1', { user_data: 'x'.repeat(33 * 1024) }), 400],
    ['POST', '/servers', server('bulk-0'), 409],
    ['POST', '/servers', server('plain'), 201],
    ['POST', '/servers', server('keyed', { ssh_keys: ['ops'], start_after_create: false }), 201],
    [
      'POST',
      '/servers',
      server('private', {
        image: 'debian-12',
        location: 'hel1',
        server_type: 'cax11',
        public_net: { enable_ipv4: false, enable_ipv6: false },
        networks: [1, 2],
        firewalls: [{ firewall: 3 }],
        labels: { fleet: 'spec', empty: '' },
      }),
      201,
    ],
    ['GET', `/servers/${kept}`, undefined, 200],
    ['GET', '/servers/abc', undefined, 404],
    ['GET', '/servers/1', undefined, 404],
    ['PUT', `/servers/${kept}`, { name: 'renamed', labels: { fleet: 'spec', n: '' } }, 200],
    ['PUT', `/servers/${kept}`, undefined, 400, { raw: '{not json' }],
    ['PUT', `/servers/${kept}`, { labels: { 'hetzner.cloud/x': 'y' } }, 400],
    ['PUT', `/servers/${kept}`, { name: 'plain' }, 409],
    ['PUT', '/servers/1', { labels: {} }, 404],
    ['GET', `/servers/${kept}/actions?sort=id:desc&status=success&status=running`, undefined, 200],
    ['GET', `/servers/${kept}/actions?sort=started&per_page=1&page=2`, undefined, 200],
    ['GET', '/servers/1/actions', undefined, 404],
    ['POST', `/servers/${kept}/actions/rebuild`, {}, 400],
    ['POST', `/servers/${kept}/actions/rebuild`, { image: 'nope' }, 404],
    ['POST', '/servers/1/actions/rebuild', { image: 'ubuntu-24.04' }, 404],
    ['DELETE', '/servers/1', undefined, 404],
    ['GET', '/actions?id=1&id=2&id=999', undefined, 200],
    ['GET', '/actions', undefined, 400],
    ['GET', '/actions/1', undefined, 200],
    ['GET', '/actions/999999', undefined, 404],
    ['GET', '/images', undefined, 200],
    ['GET', '/images?type=system&sort=created:desc&per_page=1', undefined, 200],
    ['GET', '/images?type=snapshot&status=available&label_selector=role%3Drunner', undefined, 200],
    ['GET', '/images?label_selector=%21%21', undefined, 400],
    ['GET', '/images/100', undefined, 200],
    ['GET', '/images/102', undefined, 200],
    ['GET', '/images/999', undefined, 404],
  ];
  for (const [method, path, body, status, opts] of table) {
    expect(`${method} ${path} → ${await call(f, method, path, body, opts)}`).toBe(
      `${method} ${path} → ${status}`,
    );
  }

  // A server still booting (action running), one pinned off, then booted.
  const booting = (await call(f, 'POST', '/servers', server('booting'))) === 201;
  expect(booting).toBe(true);
  const id = f.servers().find((s) => s.name === 'booting')?.id ?? 0;
  expect(await call(f, 'GET', `/servers/${id}`)).toBe(200);
  expect(await call(f, 'GET', '/actions?id=1&id=200')).toBe(200);
  f.setStatus(kept, 'off');
  expect(await call(f, 'GET', `/servers/${kept}`)).toBe(200);
  clock.advance(ACTION_MS);
  expect(await call(f, 'GET', `/servers/${id}`)).toBe(200);

  // Rebuilds: one that runs (the server is `rebuilding`), one that fails, one that never ends.
  const plain = f.servers().find((s) => s.name === 'plain')?.id ?? 0;
  expect(
    await call(f, 'POST', `/servers/${plain}/actions/rebuild`, {
      image: 'debian-12',
      user_data: '#!/bin/sh\n',
    }),
  ).toBe(201);
  // Its rebuild action still runs: locked.
  expect(await call(f, 'POST', `/servers/${plain}/actions/rebuild`, { image: 'debian-12' })).toBe(423);
  expect(await call(f, 'GET', `/servers/${plain}`)).toBe(200);
  expect(await call(f, 'GET', `/servers/${plain}/actions`)).toBe(200);
  f.injectActionFault({ command: 'rebuild_server', outcome: 'error', times: 1 });
  expect(await call(f, 'POST', `/servers/${id}/actions/rebuild`, { image: 'ubuntu-24.04' })).toBe(201);
  f.injectActionFault({ command: 'rebuild_server', outcome: 'hang', times: 1 });
  expect(await call(f, 'POST', `/servers/${kept}/actions/rebuild`, { image: 'ubuntu-24.04' })).toBe(201);
  clock.advance(ACTION_MS);
  for (const s of [plain, id, kept]) {
    expect(await call(f, 'GET', `/servers/${s}`)).toBe(200);
    expect(await call(f, 'GET', `/servers/${s}/actions?sort=id:desc`)).toBe(200);
  }

  // Every error code the fake can be told to answer with, on each route it serves.
  const faults: [string, string, number][] = [
    ['forbidden', '/servers', 403],
    ['resource_limit_exceeded', '/servers', 403],
    ['conflict', `/servers/${kept}`, 409],
    ['locked', `/servers/${kept}`, 423],
    ['rate_limit_exceeded', '/actions/1', 429],
    // A code without a status of its own answers 422.
    ['unprocessable_entity', '/actions/1', 422],
    ['server_error', '/images', 500],
    ['service_error', '/images/100', 503],
    ['timeout', '/servers', 504],
  ];
  for (const [code, path, status] of faults) {
    f.injectFault({ path, code, times: 1 });
    const create = path === '/servers';
    expect(await call(f, create ? 'POST' : 'GET', path, create ? server(`f-${code}`) : undefined)).toBe(
      status,
    );
  }
  f.injectCreateError({ code: 'placement_error', times: 1 });
  expect(await call(f, 'POST', '/servers', server('placed'))).toBe(412);
  f.injectFault({ method: 'DELETE', code: 'protected', details: { reason: 'protected' }, times: 1 });
  expect(await call(f, 'DELETE', `/servers/${kept}`)).toBe(423);
  expect(await call(f, 'DELETE', `/servers/${kept}`)).toBe(200);

  // The project's bucket runs dry: 429 with the RateLimit-* headers.
  expect(await call(limited, 'GET', '/servers')).toBe(200);
  expect(await call(limited, 'GET', '/servers')).toBe(429);
}

describe('fake Hetzner against hcloud-openapi.json', () => {
  it('answers every request of the provider and of the route table as the spec describes', async () => {
    await exerciseWithProvider();
    await exerciseDirectly();

    const summary = checkAnswers(checker, answers);
    expect(summary.failures).toEqual([]);
    expect(summary.deviationsUsed).toEqual(new Map());
    // The exercise reached every operation the fake serves, with its success and error answers.
    expect([...summary.covered].sort()).toEqual(
      [
        'create_server 201',
        'create_server 400',
        'create_server 403',
        'create_server 404',
        'create_server 409',
        'create_server 412',
        'create_server 504',
        'delete_server 200',
        'delete_server 404',
        'delete_server 423',
        'get_action 200',
        'get_action 404',
        'get_action 422',
        'get_action 429',
        'get_image 200',
        'get_image 404',
        'get_image 503',
        'get_multiple_actions 200',
        'get_multiple_actions 400',
        'get_server 200',
        'get_server 404',
        'get_server 409',
        'get_server 423',
        'list_images 200',
        'list_images 400',
        'list_images 500',
        'list_servers 200',
        'list_servers 400',
        'list_servers 401',
        'list_servers 429',
        'list_servers 503',
        'list_actions_for_server 200',
        'list_actions_for_server 404',
        'rebuild_server_from_image 201',
        'rebuild_server_from_image 400',
        'rebuild_server_from_image 404',
        'rebuild_server_from_image 423',
        'replace_server 200',
        'replace_server 400',
        'replace_server 404',
        'replace_server 409',
      ].sort(),
    );
  });
});
