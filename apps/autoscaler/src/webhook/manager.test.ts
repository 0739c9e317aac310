import { createForgejoClient, parseScope } from '@forgejo-fleet/forgejo';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import type { ScopeState } from '../scopes/scope-state.js';
import { HOOK_EVENTS, hookUrl } from './hook-plan.js';
import { createHookManager } from './manager.js';

const PUBLIC_URL = 'http://127.0.0.1:9/forgejo-webhook';
let fake: RunningFakeForgejo;
let tokens: { root: string; alice: string };

beforeEach(async () => {
  fake = await startFakeForgejo();
  fake.addUser({ name: 'root', admin: true });
  fake.addUser({ name: 'alice' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  fake.addRepo({ owner: 'acme', name: 'web' });
  tokens = {
    root: fake.addToken({ user: 'root', scopes: ['write:admin'] }),
    alice: fake.addToken({ user: 'alice', scopes: ['write:organization', 'write:user', 'write:repository'] }),
  };
});
afterEach(() => fake.close());

function scope(key: string, token: string, manage = true): ScopeState {
  return {
    key,
    scope: parseScope(key),
    client: createForgejoClient({ apiUrl: fake.url, token, retry: { attempts: 1 } }),
    manageHook: manage,
    identity: undefined,
    health: { status: 'starting' },
  };
}

function manager(scopes: ScopeState[], secret = 'secret-1') {
  return createHookManager({
    scopes,
    publicUrl: PUBLIC_URL,
    secret,
    metrics: createMetrics(),
    log: createLogger('silent'),
  });
}

function ours() {
  return fake.hooks().filter((h) => h.url.startsWith(PUBLIC_URL));
}

function writes() {
  return fake.calls().filter((c) => c.method !== 'GET');
}

describe('webhook manager', () => {
  it('creates exactly one hook of ours per managed scope (a system hook for the instance), then changes nothing', async () => {
    const scopes = [
      scope('instance', tokens.root),
      scope('org:acme', tokens.alice),
      scope('user:alice', tokens.alice),
      scope('repo:acme/web', tokens.alice),
    ];
    expect(await manager(scopes).ensureAll()).toEqual({
      instance: 'ok',
      'org:acme': 'ok',
      'user:alice': 'ok',
      'repo:acme/web': 'ok',
    });
    const hooks = ours();
    expect(hooks.map((h) => h.kind).sort()).toEqual(['owner', 'owner', 'repo', 'system']);
    for (const hook of hooks) {
      expect(hook).toMatchObject({ active: true, contentType: 'json', secret: 'secret-1', type: 'forgejo' });
      expect(hook.url).toBe(hookUrl(PUBLIC_URL, 'secret-1'));
      expect(hook.events).toEqual(expect.arrayContaining([...HOOK_EVENTS]));
    }

    const before = writes().length;
    await manager(scopes).ensureAll();
    expect(writes()).toHaveLength(before);
    expect(ours()).toHaveLength(4);
  });

  it('repairs our hook in place when it can, recreates it when Forgejo cannot edit the difference, never touches others', async () => {
    const org = scope('org:acme', tokens.alice);
    const client = org.client;
    const other = await client.createHook(org.scope, {
      type: 'forgejo',
      config: { url: 'http://127.0.0.1:9/someone-else', content_type: 'json', secret: 'x' },
      events: ['push'],
      active: false,
    });
    await manager([org]).ensureAll();
    const [first] = ours();
    if (!first) throw new Error('no hook created');

    // Someone deactivated it: fixed by an edit, same hook.
    await client.editHook(org.scope, first.id, { active: false, events: [...HOOK_EVENTS] });
    await manager([org]).ensureAll();
    expect(ours()).toMatchObject([{ id: first.id, active: true }]);

    // A copy without action_run events (Forgejo 15 cannot add them by edit): recreated, duplicate removed.
    await client.createHook(org.scope, {
      type: 'forgejo',
      config: { url: hookUrl(PUBLIC_URL, 'secret-1'), content_type: 'json', secret: 'secret-1' },
      events: ['push'],
      active: true,
    });
    await manager([org]).ensureAll();
    expect(ours()).toMatchObject([{ id: first.id }]);

    // The secret was rotated: the hook is recreated with the new one.
    await manager([org], 'secret-2').ensureAll();
    const [rotated] = ours();
    expect(ours()).toHaveLength(1);
    expect(rotated?.id).not.toBe(first.id);
    expect(rotated).toMatchObject({ secret: 'secret-2', url: hookUrl(PUBLIC_URL, 'secret-2'), active: true });

    expect(fake.hooks().find((h) => h.id === other.id)).toMatchObject({ active: false, events: ['push'] });
  });

  it('removes our hook when management is switched off, leaving the others', async () => {
    await manager([scope('repo:acme/web', tokens.alice)]).ensureAll();
    const repo = scope('repo:acme/web', tokens.alice, false);
    await repo.client.createHook(repo.scope, {
      type: 'gitea',
      config: { url: 'http://127.0.0.1:9/ci', content_type: 'json' },
      events: ['push'],
      active: true,
    });
    expect(ours()).toHaveLength(1);
    await manager([repo]).ensureAll();
    expect(ours()).toEqual([]);
    expect(fake.hooks().map((h) => h.url)).toEqual(['http://127.0.0.1:9/ci']);
  });

  it('reports a scope it cannot manage and carries on with the next', async () => {
    const readOnly = fake.addToken({ user: 'alice', scopes: ['read:organization'] });
    const result = await manager([
      scope('org:acme', readOnly),
      scope('user:alice', tokens.alice),
    ]).ensureAll();
    expect(result).toEqual({ 'org:acme': 'failed', 'user:alice': 'ok' });
    expect(ours()).toHaveLength(1);
  });
});
