import { inspect } from 'node:util';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createForgejoClient, type ForgejoClientOptions } from './client.js';
import { ForgejoApiError, ForgejoNetworkError } from './errors.js';
import { parseScope } from './scope.js';

// The client against the testkit's fake Forgejo v15 on a real socket.
let fake: RunningFakeForgejo;
let agent: Agent;
let tokens: Record<'root' | 'alice' | 'aliceNoScope', string>;
let sleeps: number[];

beforeEach(async () => {
  fake = await startFakeForgejo();
  fake.addUser({ name: 'root', admin: true });
  fake.addUser({ name: 'alice' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  fake.addRepo({ owner: 'acme', name: 'app' });
  fake.addRepo({ owner: 'acme', name: 'off', actionsEnabled: false });
  tokens = {
    root: fake.addToken({ user: 'root', scopes: ['all'] }),
    alice: fake.addToken({ user: 'alice', scopes: ['all'] }),
    aliceNoScope: fake.addToken({ user: 'alice', scopes: ['read:organization'] }),
  };
  agent = new Agent();
  sleeps = [];
});

afterEach(async () => {
  await agent.destroy();
  await fake.close();
});

function client(token: string, opts: Partial<ForgejoClientOptions> = {}) {
  return createForgejoClient({
    apiUrl: `${fake.url}/`,
    token,
    dispatcher: agent,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
    ...opts,
  });
}

const hookBody = {
  type: 'forgejo',
  config: { url: 'https://fleet.example/webhook', content_type: 'json', secret: 's3cret' },
  events: ['action_run_success', 'action_run_failure'],
  active: true,
} as const;

describe.each([
  ['instance', 'root'],
  ['org:acme', 'alice'],
  ['user:alice', 'alice'],
  ['repo:acme/app', 'alice'],
] as const)('in scope %s', (text, who) => {
  const scope = parseScope(text);

  it('lists jobs, registers, gets, lists and deletes a runner', async () => {
    const forgejo = client(tokens[who]);
    const repo = text === 'user:alice' ? 'alice/tool' : 'acme/app';
    if (text === 'user:alice') fake.addRepo({ owner: 'alice', name: 'tool' });
    const job = fake.enqueueJob({ repo, runsOn: ['vm-small'] });

    expect((await forgejo.listJobs(scope, { labels: ['vm-small', 'vm-big'] })).map((j) => j.handle)).toEqual([
      job.handle,
    ]);
    expect(await forgejo.listJobs(scope, { labels: ['other'] })).toEqual([]);

    const reg = await forgejo.registerRunner(scope, { name: 'ff-1', description: 'test', ephemeral: true });
    expect(await forgejo.getRunner(scope, reg.id)).toMatchObject({
      id: reg.id,
      uuid: reg.uuid,
      status: 'offline',
      labels: [],
      ephemeral: true,
    });
    expect((await forgejo.listRunners(scope)).map((r) => r.id)).toEqual([reg.id]);
    expect(await forgejo.deleteRunner(scope, reg.id)).toBe('deleted');
    expect(await forgejo.deleteRunner(scope, reg.id)).toBe('not-found');
    expect(await forgejo.getRunner(scope, reg.id)).toBeUndefined();
  });

  it('creates, lists, edits and deletes a hook', async () => {
    const forgejo = client(tokens[who]);
    const body =
      text === 'instance'
        ? { ...hookBody, config: { ...hookBody.config, is_system_webhook: 'true' as const } }
        : hookBody;

    const created = await forgejo.createHook(scope, body);
    expect(created).toMatchObject({ type: 'forgejo', active: true });
    expect([...created.events].sort()).toEqual([...hookBody.events].sort());
    expect((await forgejo.listHooks(scope)).map((h) => h.id)).toEqual([created.id]);
    expect((await forgejo.editHook(scope, created.id, { active: false })).active).toBe(false);
    expect(await forgejo.deleteHook(scope, created.id)).toBe('deleted');
    expect(await forgejo.deleteHook(scope, created.id)).toBe('not-found');
  });
});

describe('against the fake', () => {
  const org = parseScope('org:acme');

  it('answers [] when the queue is empty (Forgejo sends null)', async () => {
    await expect(client(tokens.alice).listJobs(org)).resolves.toEqual([]);
  });

  it('follows pagination across 3 pages', async () => {
    const forgejo = client(tokens.alice);
    const scope = parseScope('repo:acme/app');
    const ids = new Set<number>();
    for (let i = 0; i < 120; i++)
      ids.add((await forgejo.registerRunner(scope, { name: `r${i}`, ephemeral: true })).id);

    const runners = await forgejo.listRunners(scope);

    expect(new Set(runners.map((r) => r.id))).toEqual(ids);
    expect(
      fake.calls().filter((c) => c.method === 'GET' && c.path.endsWith('/actions/runners')),
    ).toHaveLength(3);
  });

  it('403 for a token without the write scope: Forgejo message, not retried', async () => {
    const forgejo = client(tokens.aliceNoScope);

    const err = await forgejo.registerRunner(org, { name: 'x', ephemeral: true }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ForgejoApiError);
    expect((err as Error).message).toBe(
      'POST /api/v1/orgs/acme/actions/runners: 403 token does not have at least one of required scope(s): [write:organization]',
    );
    expect(fake.calls()).toHaveLength(1);
    expect(fake.runners()).toEqual([]);
  });

  it('404 for a repo with Actions disabled', async () => {
    const err = await client(tokens.alice)
      .listJobs(parseScope('repo:acme/off'))
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ status: 404, retryable: false });
  });

  it('retries injected 503s on a GET and then succeeds', async () => {
    fake.injectFault({ method: 'GET', path: '/orgs/acme/actions/runners/jobs', status: 503, times: 2 });

    await expect(client(tokens.alice).listJobs(org)).resolves.toEqual([]);
    expect(fake.calls().map((c) => c.status)).toEqual([503, 503, 200]);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry an injected 500 on register', async () => {
    fake.injectFault({ method: 'POST', path: '/orgs/acme/actions/runners', status: 500, times: 1 });

    await expect(
      client(tokens.alice).registerRunner(org, { name: 'x', ephemeral: true }),
    ).rejects.toMatchObject({
      status: 500,
      forgejoMessage: 'injected fault 500',
    });
    expect(fake.calls()).toHaveLength(1);
  });

  it('times out on a hanging Forgejo, then reports ForgejoNetworkError without the token', async () => {
    fake.injectFault({ path: '/orgs/acme/actions/runners/jobs', hang: true });
    const forgejo = client(tokens.alice, { timeoutMs: 100, retry: { attempts: 2 } });

    const err = await forgejo.listJobs(org).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ForgejoNetworkError);
    expect((err as Error).message).toBe('GET /api/v1/orgs/acme/actions/runners/jobs: timed out after 100ms');
    expect(sleeps).toHaveLength(1);
    expect(`${JSON.stringify(err)} ${inspect(err, { depth: 10, showHidden: true })}`).not.toContain(
      tokens.alice,
    );
  });
});
