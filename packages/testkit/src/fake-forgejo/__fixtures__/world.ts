import { createFakeForgejo, type FakeForgejo } from '../app.js';
import type { FakeForgejoOptions } from '../types.js';

/**
 * A small world: `root` (site admin), `alice` (owner of org `acme`), `bob` (no rights on acme), repos
 * `acme/app`, `acme/lib`, `acme/off` (Actions disabled), `alice/tool`, `bob/own`; one token per role.
 */
export function seedWorld(fake: FakeForgejo) {
  const root = fake.addUser({ name: 'root', admin: true });
  const alice = fake.addUser({ name: 'alice' });
  const bob = fake.addUser({ name: 'bob' });
  const acme = fake.addOrg({ name: 'acme', owners: ['alice'] });
  const app = fake.addRepo({ owner: 'acme', name: 'app' });
  const lib = fake.addRepo({ owner: 'acme', name: 'lib' });
  const off = fake.addRepo({ owner: 'acme', name: 'off', actionsEnabled: false });
  const tool = fake.addRepo({ owner: 'alice', name: 'tool' });
  const own = fake.addRepo({ owner: 'bob', name: 'own' });
  const tokens = {
    root: fake.addToken({ user: 'root', scopes: ['all'] }),
    alice: fake.addToken({ user: 'alice', scopes: ['all'] }),
    bob: fake.addToken({ user: 'bob', scopes: ['all'] }),
    rootRead: fake.addToken({ user: 'root', scopes: ['read:admin'] }),
    aliceOrgWrite: fake.addToken({ user: 'alice', scopes: ['write:organization'] }),
    aliceRepoRead: fake.addToken({ user: 'alice', scopes: ['read:repository'] }),
    aliceNoScope: fake.addToken({ user: 'alice', scopes: ['read:misc'] }),
  };
  return { root, alice, bob, acme, repos: { app, lib, off, tool, own }, tokens };
}

export function newWorld(opts: FakeForgejoOptions = {}) {
  const fake = createFakeForgejo(opts);
  return { fake, ...seedWorld(fake) };
}

export interface ApiResult {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

/** One REST call against the in-process app. */
export async function api(
  fake: FakeForgejo,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; scheme?: string } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers.Authorization = `${o.scheme ?? 'token'} ${o.token}`;
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fake.app.request(`http://127.0.0.1:3000/api/v1${path}`, {
    method,
    headers,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** One runner RPC call against the in-process app. */
export async function rpc(
  fake: FakeForgejo,
  method: string,
  runner: { uuid: string; token: string },
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fake.app.request(`http://127.0.0.1:3000/api/actions/runner.v1.RunnerService/${method}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-runner-uuid': runner.uuid,
      'x-runner-token': runner.token,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A manual clock. */
export function manualClock(start = Date.UTC(2026, 5, 1)) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
