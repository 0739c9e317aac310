import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DispatcherConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobRan } from './__fixtures__/job-ran.js';
import { memoryProvider } from './__fixtures__/memory-provider.js';
import { seedAcme } from './__fixtures__/world-parts.js';
import { createLogger } from './logger.js';
import { type RunningDispatcher, startDispatcher } from './server.js';

const TOKEN = 'server-test-client-token-0123';

let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher | undefined;
let work: string;
let cloud: ReturnType<typeof memoryProvider>;
let config: DispatcherConfig;

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-server-'));
  forgejo = await startFakeForgejo();
  const { token } = seedAcme(forgejo);
  config = parseDispatcherConfig(
    `
fleet_id: srv
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'd.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
    { file: 'srv.yaml', env: { FT: token, CT: TOKEN } },
  );
  cloud = memoryProvider('cloud');
  dispatcher = await startDispatcher({
    config,
    log: createLogger('silent'),
    providerFor: () => cloud.provider,
    reconcileIntervalMs: 3_600_000,
  });
});

afterEach(async () => {
  await dispatcher?.close();
  await forgejo.close();
  rmSync(work, { recursive: true, force: true });
});

function api(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  return fetch(`${dispatcher?.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function dispatchJob() {
  const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
  const res = await api('POST', '/v1/dispatch', {
    scope: 'org:acme',
    labels: ['linux'],
    job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
  });
  expect(res.status).toBe(202);
  await dispatcher?.service.drain();
  return { job, id: ((await res.json()) as { id: string }).id };
}

describe('GET /metrics', () => {
  it('counts dispatches, phases, provider and Forgejo calls, and live VMs, with no ids in labels', async () => {
    const { job, id } = await dispatchJob();
    await jobRan(forgejo, config, await dispatcher?.store.get(id));
    const vm = [...cloud.instances.values()][0];
    if (vm) cloud.powerOff(vm.id);
    await dispatcher?.service.reconcile();

    const res = await api('GET', '/metrics', undefined, null);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /forgejo_fleet_dispatches_total\{route="small",provider="cloud",outcome="finished"\} 1/,
    );
    expect(text).toMatch(
      /forgejo_fleet_dispatch_phase_seconds_count\{phase="created",route="small",provider="cloud"\} 1/,
    );
    expect(text).toMatch(
      /forgejo_fleet_provider_call_seconds_count\{provider="cloud",operation="create",result="ok"\} 1/,
    );
    expect(text).toMatch(/forgejo_fleet_forgejo_calls_total\{operation="register_runner",result="2xx"\} 1/);
    expect(text).toMatch(/forgejo_fleet_reconcile_seconds_count 1/);
    expect(text).toMatch(/forgejo_fleet_live_vms/);
    expect(text).not.toContain(id);
    expect(text).not.toContain(job.handle);
  });
});

describe('decision log file', () => {
  it('writes one JSON line per decision, the same as the store', async () => {
    const { id } = await dispatchJob();
    await dispatcher?.close();
    dispatcher = undefined;

    const lines = readFileSync(join(work, 'decisions.jsonl'), 'utf8').trim().split('\n');
    const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({ seq: 1, kind: 'create', dispatch_id: id, provider: 'cloud' });
    expect(first.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('POST /v1/reconcile', () => {
  it('runs a pass soon and answers 202; a bad body is 400 and runs nothing', async () => {
    const { id } = await dispatchJob();
    await jobRan(forgejo, config, await dispatcher?.store.get(id));
    const vm = [...cloud.instances.values()][0];
    if (vm) cloud.powerOff(vm.id);

    const bad = await api('POST', '/v1/reconcile', { reason: 7 });
    expect(bad.status).toBe(400);
    const res = await api('POST', '/v1/reconcile', { reason: 'action_run_success' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ scheduled: true });

    for (let i = 0; i < 100; i++) {
      const state = (await dispatcher?.store.get(id))?.state;
      if (state === 'finished') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await dispatcher?.store.get(id))?.state).toBe('finished');
    expect((await api('POST', '/v1/reconcile', undefined, null)).status).toBe(401);
  });
});

describe('graceful stop', () => {
  it('refuses new dispatches while stopping, finishes in-flight work and leaves running VMs alone', async () => {
    await dispatchJob();
    dispatcher?.service.stopAccepting();
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const refused = await api('POST', '/v1/dispatch', {
      scope: 'org:acme',
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await api('GET', '/readyz', undefined, null)).status).toBe(503);

    await dispatcher?.close();
    dispatcher = undefined;

    expect(cloud.instances.size).toBe(1);
    expect(forgejo.runners().filter((r) => !r.deleted)).toHaveLength(1);
  });
});
