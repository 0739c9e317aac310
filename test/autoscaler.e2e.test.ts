/**
 * The whole loop: fake Forgejo v15 on 127.0.0.1 → the real autoscaler (pollers for four overlapping
 * scopes, webhook receiver, webhook manager) → the real dispatcher → in-process VMs running the fake
 * runner. 200 jobs arrive in bursts while every webhook is delivered twice and some are dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger as autoscalerLogger,
  type RunningAutoscaler,
  startAutoscaler,
} from '@forgejo-fleet/autoscaler';
import { type AutoscalerConfig, parseAutoscalerConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { openSqliteStore } from '@forgejo-fleet/store';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, until } from './autoscaler-net.js';
import { inProcessVms } from './autoscaler-vms.js';

const CLIENT_TOKEN = 'autoscaler-e2e-client-token';
const WEBHOOK_SECRET = 'autoscaler-e2e-webhook-secret';
const REPOS = ['acme/web', 'acme/api', 'alice/site', 'alice/blog', 'bob/tool'] as const;
/** The most specific configured scope of each repository. */
const OWNER_SCOPE: Record<(typeof REPOS)[number], string> = {
  'acme/web': 'org:acme',
  'acme/api': 'org:acme',
  'alice/site': 'repo:alice/site',
  'alice/blog': 'user:alice',
  'bob/tool': 'instance',
};

let work: string;
let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher;
let autoscaler: RunningAutoscaler;
let vms: ReturnType<typeof inProcessVms>;
let publicUrl: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-autoscaler-e2e-'));
  forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'root', admin: true });
  forgejo.addUser({ name: 'ops' });
  forgejo.addUser({ name: 'alice' });
  forgejo.addUser({ name: 'bob' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  for (const repo of REPOS) {
    const [owner = '', name = ''] = repo.split('/');
    forgejo.addRepo({ owner, name });
  }
  const tokens = {
    root: forgejo.addToken({ user: 'root', scopes: ['all'] }),
    ops: forgejo.addToken({ user: 'ops', scopes: ['write:organization'] }),
    alice: forgejo.addToken({ user: 'alice', scopes: ['write:user', 'write:repository'] }),
  };

  vms = inProcessVms({ jobMs: 400 });
  const dispatcherConfig = parseDispatcherConfig(
    stringify({
      fleet_id: 'e2e',
      listen: { host: '127.0.0.1', port: 0 },
      store: { path: join(work, 'dispatcher.db'), decision_log: join(work, 'decisions.jsonl') },
      forgejo: { api_url: forgejo.url, instance_url: forgejo.url, token_env: 'ROOT_TOKEN' },
      reconcile: { interval: '1s', orphan_grace: '10m' },
      limits: { max_vms: 500 },
      providers: { vm: { kind: 'shell', command: ['/bin/false'], timeout: '10s', max_instances: 1000 } },
      routes: [
        { name: 'linux-small', labels: ['linux', 'small'], providers: ['vm'], limits: { max_vms: 500 } },
        {
          name: 'linux-large',
          labels: ['linux', 'large', 'docker'],
          providers: ['vm'],
          limits: { max_vms: 500 },
        },
      ],
      scopes: {
        instance: {},
        'org:acme': { forgejo_token_env: 'OPS_TOKEN' },
        'user:alice': { forgejo_token_env: 'ALICE_TOKEN' },
        'repo:alice/site': { forgejo_token_env: 'ALICE_TOKEN' },
      },
      clients: [{ name: 'autoscaler', token_env: 'CLIENT_TOKEN', scopes: ['*'] }],
    }),
    {
      file: 'e2e-dispatcher.yaml',
      env: { ROOT_TOKEN: tokens.root, OPS_TOKEN: tokens.ops, ALICE_TOKEN: tokens.alice, CLIENT_TOKEN },
    },
  );
  dispatcher = await startDispatcher({
    config: dispatcherConfig,
    // In memory: the on-disk store syncs every write, which the test's one process cannot afford at this rate.
    store: openSqliteStore(':memory:'),
    log: createLogger('silent'),
    providerFor: () => vms.provider,
    reconcileIntervalMs: 200,
  });

  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}/forgejo-webhook`;
  const config: AutoscalerConfig = parseAutoscalerConfig(
    stringify({
      log: { level: 'warn' },
      forgejo: { api_url: forgejo.url },
      dispatcher: { url: dispatcher.url, token_env: 'CLIENT_TOKEN', routes_refresh: '10s' },
      poll: { interval: '1s', jitter: 0.2, fast_interval: '250ms', fast_window: '3s' },
      webhook: { listen: { host: '127.0.0.1', port }, public_url: publicUrl, secret_env: 'WEBHOOK_SECRET' },
      scopes: {
        instance: { token_env: 'ROOT_TOKEN', webhook: { manage: true } },
        'org:acme': { token_env: 'OPS_TOKEN', webhook: { manage: true } },
        'user:alice': { token_env: 'ALICE_TOKEN' },
        'repo:alice/site': { token_env: 'ALICE_TOKEN', webhook: { manage: true } },
      },
      metrics: { listen: { host: '127.0.0.1', port: 0 } },
    }),
    {
      file: 'e2e-autoscaler.yaml',
      env: {
        ROOT_TOKEN: tokens.root,
        OPS_TOKEN: tokens.ops,
        ALICE_TOKEN: tokens.alice,
        CLIENT_TOKEN,
        WEBHOOK_SECRET,
      },
    },
  );
  autoscaler = await startAutoscaler({ config, log: autoscalerLogger('silent') });
});

afterAll(async () => {
  await autoscaler?.close();
  await vms?.shutdown();
  await dispatcher?.close();
  await forgejo?.close();
  rmSync(work, { recursive: true, force: true });
});

function progress(): string {
  const count = (values: string[]) => {
    const out: Record<string, number> = {};
    for (const v of values) out[v] = (out[v] ?? 0) + 1;
    return JSON.stringify(out);
  };
  const errors = vms.errors.slice(0, 3).join('; ');
  return `jobs ${count(forgejo.jobs().map((j) => j.status))}, VMs ${vms.instances.size}, runner errors: ${errors}`;
}

interface DispatchItem {
  handle: string;
  scope: string;
  state: string;
}

async function dispatches(): Promise<DispatchItem[]> {
  const res = await fetch(`${dispatcher.url}/v1/dispatches?limit=500`, {
    headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
  });
  return ((await res.json()) as { items: DispatchItem[] }).items;
}

describe('autoscaler end to end', () => {
  it('keeps exactly one hook of ours in each managed scope', async () => {
    await until('hooks to be created', () => {
      const ours = forgejo.hooks().filter((h) => h.url.startsWith(publicUrl));
      return ours.length === 3 ? ours : undefined;
    });
    await autoscaler.ensureHooks();
    const ours = forgejo.hooks().filter((h) => h.url.startsWith(publicUrl));
    expect(ours.map((h) => h.kind).sort()).toEqual(['owner', 'repo', 'system']);
    expect(ours.every((h) => h.active && h.events.includes('action_run_success'))).toBe(true);
  });

  it('runs 200 jobs arriving in bursts with duplicated and dropped webhooks: 200 dispatches, nothing left', async () => {
    // Every delivery twice, every fifth one lost.
    forgejo.setDeliveryFaults({ duplicate: true, drop: (n) => n % 5 === 0 });
    const expected = new Map<string, string>();
    for (let burst = 0; burst < 10; burst++) {
      const touched = new Set<(typeof REPOS)[number]>();
      for (let i = 0; i < 20; i++) {
        const repo = REPOS[(burst * 20 + i) % REPOS.length] as (typeof REPOS)[number];
        const job = forgejo.enqueueJob({
          repo,
          name: `job-${burst}-${i}`,
          runsOn: i % 4 ? ['linux'] : ['linux', 'large'],
        });
        expected.set(job.handle, OWNER_SCOPE[repo]);
        touched.add(repo);
      }
      for (const repo of touched) void (burst % 2 ? forgejo.emitPullRequest(repo) : forgejo.emitPush(repo));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }

    await until(
      () => `every job to succeed (${progress()})`,
      () => (forgejo.jobs().filter((j) => j.status === 'success').length === 200 ? true : undefined),
      25_000,
    );
    const all = await until('every dispatch to finish', async () => {
      const items = await dispatches();
      // Every job ran on its own VM, so every dispatch ends `finished`, even one whose job ran
      // between two reconcile passes (its registration is gone, so it is not "cancelled").
      return items.length === 200 && items.every((d) => d.state === 'finished') ? items : undefined;
    });
    await forgejo.settleDeliveries();
    await autoscaler.settle();

    // Exactly one dispatch per handle, for the most specific scope containing its job.
    expect(new Set(all.map((d) => d.handle)).size).toBe(200);
    expect(Object.fromEntries(all.map((d) => [d.handle, d.scope]))).toEqual(Object.fromEntries(expected));
    expect(vms.created()).toBe(200);
    // Nothing left behind.
    await until('VMs to be deleted', () => (vms.instances.size === 0 ? true : undefined));
    await until('registrations to be gone', () =>
      forgejo.runners().every((r) => r.deleted) ? true : undefined,
    );

    const metrics = await (await fetch(`${autoscaler.opsUrl}/metrics`)).text();
    const created = [...metrics.matchAll(/dispatched_total\{scope="[^"]+",result="created"\} (\d+)/g)];
    expect(created.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(200);
    expect(metrics).toMatch(/webhook_deliveries_total\{result="duplicate"\} [1-9]/);
    expect(metrics).toMatch(/webhook_deliveries_total\{result="accepted"\} [1-9]/);
    const deliveries = forgejo.deliveries();
    expect(deliveries.some((d) => d.error === 'dropped by fault injection')).toBe(true);
    expect(
      deliveries.filter((d) => d.status !== null).every((d) => d.status === 200 || d.status === 202),
    ).toBe(true);
    expect((await fetch(`${autoscaler.opsUrl}/readyz`)).status).toBe(200);
  }, 30_000);
});
