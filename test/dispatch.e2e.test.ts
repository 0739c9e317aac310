import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const CLIENT_TOKEN = 'e2e-client-token-0123456789';

let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));
  forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
  const config = parseDispatcherConfig(
    `
fleet_id: e2e
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'dispatcher.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FORGEJO_TOKEN }
providers:
  local:
    kind: shell
    command: [${join(root, 'scripts/providers/local.sh')}]
    timeout: 30s
    env: { FORGEJO_FLEET_LOCAL_STATE: ${join(work, 'state')}, FAKE_RUNNER_JOB_MS: '200' }
routes:
  - name: small
    labels: [linux]
    providers: [local]
    timeouts: { job: 2m, max_lifetime: 10m }
scopes:
  org:acme: {}
clients:
  - { name: e2e, token_env: CLIENT_TOKEN, scopes: ['*'] }
`,
    { file: 'e2e.yaml', env: { FORGEJO_TOKEN: token, CLIENT_TOKEN } },
  );
  dispatcher = await startDispatcher({ config, log: createLogger('silent'), reconcileIntervalMs: 100 });
});

afterAll(async () => {
  await dispatcher?.close();
  await forgejo?.close();
  rmSync(work, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${dispatcher.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function jobBody(job: { handle: string; id: number; attempt: number }) {
  const { handle, id, attempt } = job;
  return {
    scope: 'org:acme',
    labels: ['linux'],
    job: { handle, id, attempt, repo_id: 1, owner_id: 1, name: 'build' },
  };
}

describe('dispatcher + shell provider + fake runner', () => {
  it('runs a dispatched job on its own "VM", then finishes the dispatch and leaves nothing behind', async () => {
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const accepted = await api('POST', '/v1/dispatch', jobBody(job));
    expect(accepted.status).toBe(202);

    const done = await until('the dispatch to finish', async () => {
      const { body } = await api('GET', `/v1/dispatches/${accepted.body.id}`);
      return body.state === 'finished' || body.state === 'failed' ? body : undefined;
    });
    expect(done.state).toBe('finished');
    expect((done.transitions as { state: string }[]).map((t) => t.state)).toEqual([
      'accepted',
      'registering',
      'provisioning',
      'booting',
      ...((done.transitions as { state: string }[]).some((t) => t.state === 'running') ? ['running'] : []),
      'finished',
    ]);
    expect(forgejo.jobs().find((j) => j.handle === job.handle)?.status).toBe('success');
    expect(forgejo.runners().filter((r) => !r.deleted)).toEqual([]);
    expect(readdirSync(join(work, 'state', 'instances'))).toEqual([]);
  });

  it('gives one handle exactly one VM when it is dispatched 50 times at once', async () => {
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api('POST', '/v1/dispatch', jobBody(job))),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const id = String(answers[0]?.body.id);
    await until('the dispatch to finish', async () => {
      const { body } = await api('GET', `/v1/dispatches/${id}`);
      return body.state === 'finished' ? body : undefined;
    });
    expect(forgejo.runners().filter((r) => r.name.endsWith(id))).toHaveLength(1);
    expect(forgejo.jobs().find((j) => j.handle === job.handle)?.status).toBe('success');
  });
});
