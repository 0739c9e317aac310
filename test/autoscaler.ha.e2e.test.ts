/**
 * Two autoscalers active-active (docs/ha.md): both poll the same scopes of one fake Forgejo and
 * both receive webhooks behind one round-robin "load balancer" URL, in front of one dispatcher.
 * Nothing coordinates them: the dispatcher's idempotency per handle is what makes every job get
 * exactly one VM however many replicas see it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger as autoscalerLogger,
  type RunningAutoscaler,
  startAutoscaler,
} from '@forgejo-fleet/autoscaler';
import { parseAutoscalerConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { openSqliteStore } from '@forgejo-fleet/store';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, until } from './autoscaler-net.js';
import { inProcessVms } from './autoscaler-vms.js';

const CLIENT_TOKEN = 'autoscaler-ha-client-token';
const WEBHOOK_SECRET = 'autoscaler-ha-webhook-secret';
const REPOS = ['acme/web', 'acme/api'] as const;
const JOBS = 60;

let work: string;
let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher;
let vms: ReturnType<typeof inProcessVms>;
let balancer: Server;
let publicUrl: string;
const replicas: RunningAutoscaler[] = [];
/** Deliveries the balancer passed to each replica. */
const forwarded = [0, 0];

/** One URL in front of both receivers, taking turns (what a load balancer does). */
async function startBalancer(ports: readonly number[]): Promise<Server> {
  let turn = 0;
  const server = createServer((incoming, outgoing) => {
    const index = turn++ % ports.length;
    forwarded[index] = (forwarded[index] ?? 0) + 1;
    const proxied = request(
      {
        host: '127.0.0.1',
        port: ports[index],
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    proxied.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-autoscaler-ha-'));
  forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  for (const repo of REPOS) forgejo.addRepo({ owner: 'acme', name: repo.split('/')[1] ?? '' });
  const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

  vms = inProcessVms({ jobMs: 200 });
  dispatcher = await startDispatcher({
    config: parseDispatcherConfig(
      stringify({
        fleet_id: 'ha',
        listen: { host: '127.0.0.1', port: 0 },
        store: { path: join(work, 'dispatcher.db'), decision_log: join(work, 'decisions.jsonl') },
        forgejo: { api_url: forgejo.url, instance_url: forgejo.url, token_env: 'OPS_TOKEN' },
        reconcile: { interval: '1s', orphan_grace: '10m' },
        providers: { vm: { kind: 'shell', command: ['/bin/false'], timeout: '10s', max_instances: 100 } },
        routes: [{ name: 'linux', labels: ['linux'], providers: ['vm'], limits: { max_vms: 100 } }],
        scopes: { 'org:acme': {} },
        clients: [{ name: 'autoscaler', token_env: 'CLIENT_TOKEN', scopes: ['*'] }],
      }),
      { file: 'ha-dispatcher.yaml', env: { OPS_TOKEN: token, CLIENT_TOKEN } },
    ),
    store: openSqliteStore(':memory:'),
    log: createLogger('silent'),
    providerFor: () => vms.provider,
    reconcileIntervalMs: 200,
  });

  const ports = [await freePort(), await freePort()];
  balancer = await startBalancer(ports);
  const address = balancer.address();
  publicUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/forgejo-webhook`;
  for (const port of ports) {
    // The same file on both replicas but for the listen port (two hosts would share the port too).
    const config = parseAutoscalerConfig(
      stringify({
        log: { level: 'warn' },
        forgejo: { api_url: forgejo.url },
        dispatcher: { url: dispatcher.url, token_env: 'CLIENT_TOKEN', routes_refresh: '10s' },
        poll: { interval: '1s', jitter: 0.2, fast_interval: '250ms', fast_window: '3s' },
        webhook: { listen: { host: '127.0.0.1', port }, public_url: publicUrl, secret_env: 'WEBHOOK_SECRET' },
        scopes: { 'org:acme': { token_env: 'OPS_TOKEN', webhook: { manage: true } } },
        metrics: { listen: { host: '127.0.0.1', port: 0 } },
      }),
      { file: 'ha-autoscaler.yaml', env: { OPS_TOKEN: token, CLIENT_TOKEN, WEBHOOK_SECRET } },
    );
    replicas.push(await startAutoscaler({ config, log: autoscalerLogger('silent') }));
  }
});

afterAll(async () => {
  for (const replica of replicas) await replica.close();
  await new Promise((resolve) => balancer?.close(resolve));
  await vms?.shutdown();
  await dispatcher?.close();
  await forgejo?.close();
  rmSync(work, { recursive: true, force: true });
});

function sum(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
}

describe('two autoscalers, active-active', () => {
  it('manage one hook between them, pointing at the shared URL', async () => {
    await Promise.all(replicas.map((replica) => replica.ensureHooks()));
    await Promise.all(replicas.map((replica) => replica.ensureHooks()));

    const ours = forgejo.hooks().filter((hook) => hook.url.startsWith(publicUrl));
    expect(ours).toHaveLength(1);
  });

  it('give every job exactly one VM; webhooks reaching either replica dispatch', async () => {
    const handles = new Set<string>();
    for (let burst = 0; burst < 6; burst++) {
      for (let i = 0; i < JOBS / 6; i++) {
        const repo = REPOS[i % REPOS.length] ?? 'acme/web';
        handles.add(forgejo.enqueueJob({ repo, name: `job-${burst}-${i}`, runsOn: ['linux'] }).handle);
      }
      for (const repo of REPOS) void forgejo.emitPush(repo);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    await until(
      () => `every job to succeed (${vms.created()} VMs made)`,
      () => (forgejo.jobs().filter((job) => job.status === 'success').length === JOBS ? true : undefined),
      25_000,
    );
    await forgejo.settleDeliveries();
    await Promise.all(replicas.map((replica) => replica.settle()));

    const list = await fetch(`${dispatcher.url}/v1/dispatches?limit=500`, {
      headers: { authorization: `Bearer ${CLIENT_TOKEN}` },
    });
    const items = ((await list.json()) as { items: { handle: string }[] }).items;
    expect(items.map((item) => item.handle).sort()).toEqual([...handles].sort());
    expect(vms.created()).toBe(JOBS);
    const metrics = await Promise.all(
      replicas.map(async (replica) => (await fetch(`${replica.opsUrl}/metrics`)).text()),
    );
    // Both replicas saw jobs and asked for them; the dispatcher made each handle's VM once.
    const [createdA = 0, createdB = 0] = metrics.map((text) =>
      sum(text, /dispatched_total\{scope="org:acme",result="created"\} (\d+)/g),
    );
    const [knownA = 0, knownB = 0] = metrics.map((text) =>
      sum(text, /dispatched_total\{scope="org:acme",result="existing"\} (\d+)/g),
    );
    expect(createdA + createdB).toBe(JOBS);
    // Some jobs were asked for by both: the second ask got the first one's dispatch back.
    expect(knownA + knownB).toBeGreaterThan(0);
    // Deliveries went to both replicas, and each accepted the ones it got.
    expect(forwarded.every((count) => count > 0)).toBe(true);
    for (const text of metrics) expect(text).toMatch(/webhook_deliveries_total\{result="accepted"\} [1-9]/);
    await until('VMs to be deleted', () => (vms.instances.size === 0 ? true : undefined));
  }, 30_000);
});
