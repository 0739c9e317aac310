/**
 * Dispatch overhead: time from `POST /v1/dispatch` to the provider's create call, over 1,000
 * dispatches through the real HTTP server, the SQLite store on disk, the Forgejo client and
 * the fake Forgejo on 127.0.0.1, with a provider that answers at once.
 *
 *   node --conditions=source --import tsx scripts/bench/dispatch-overhead.ts [count]
 *
 * Prints p50/p90/p99/max and writes bench-results/dispatch-overhead.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { type DispatchRequest, ROUTES } from '@forgejo-fleet/dispatch-api';
import { createLogger, startDispatcher } from '@forgejo-fleet/dispatcher';
import { DEFAULT_CHOICE, type Instance, type InstanceSpec, type Provider } from '@forgejo-fleet/providers';
import { progress } from '@forgejo-fleet/runtime';
import { startFakeForgejo } from '@forgejo-fleet/testkit';

const count = Number(process.argv[2] ?? 1000);
const work = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
const forgejo = await startFakeForgejo();
forgejo.addUser({ name: 'ops' });
forgejo.addOrg({ name: 'acme', owners: ['ops'] });
forgejo.addRepo({ owner: 'acme', name: 'web' });
const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

const createdAt = new Map<string, number>();
let nextId = 0;
const provider: Provider = {
  name: 'instant',
  kind: 'memory',
  choices: [DEFAULT_CHOICE],
  async create(spec: InstanceSpec): Promise<Instance> {
    createdAt.set(spec.tags['forgejo-fleet-handle'] ?? '', performance.now());
    return { id: `i-${++nextId}`, name: spec.name, state: 'running', tags: spec.tags };
  },
  async delete() {
    return 'deleted';
  },
  async get(id) {
    return { id, name: id, state: 'running', tags: {} };
  },
  async list() {
    return [];
  },
};

const config = parseDispatcherConfig(
  `
fleet_id: bench
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'bench.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: T }
limits: { max_vms: 100000 }
providers: { instant: { kind: shell, command: [/bin/false], max_instances: 100000 } }
routes: [{ name: small, labels: [linux], providers: [instant], limits: { max_vms: 100000 } }]
scopes: { 'org:acme': {} }
clients: [{ name: bench, token_env: C, scopes: ['*'] }]
`,
  { file: 'bench.yaml', env: { T: token, C: 'bench-client-token' } },
);
const dispatcher = await startDispatcher({
  config,
  log: createLogger('silent'),
  providerFor: () => provider,
  reconcileIntervalMs: 3_600_000,
});

const samples: number[] = [];
const shown = progress('dispatch overhead', count, { stream: process.stderr, env: process.env });
for (let i = 0; i < count; i++) {
  shown.tick();
  const job = forgejo.enqueueJob({ repo: 'acme/web', name: `job-${i}`, runsOn: ['linux'] });
  const start = performance.now();
  // Plain fetch, not the package's client: this measures the dispatcher, not client-side parsing.
  const res = await fetch(`${dispatcher.url}${ROUTES.dispatch.path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-client-token', 'content-type': 'application/json' },
    body: JSON.stringify({
      scope: 'org:acme',
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: `job-${i}` },
    } satisfies DispatchRequest),
  });
  if (res.status !== 202) throw new Error(`dispatch ${i}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  await dispatcher.service.drain();
  const created = createdAt.get(job.handle);
  if (created === undefined) throw new Error(`dispatch ${i}: no create call`);
  samples.push(created - start);
}
shown.done();
await dispatcher.close();
await forgejo.close();
rmSync(work, { recursive: true, force: true });

samples.sort((a, b) => a - b);
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
const result = {
  benchmark: 'dispatch overhead: POST /v1/dispatch → provider.create called',
  count,
  p50_ms: +at(0.5).toFixed(2),
  p90_ms: +at(0.9).toFixed(2),
  p99_ms: +at(0.99).toFixed(2),
  max_ms: +(samples.at(-1) ?? 0).toFixed(2),
  targets: { p50_ms: 5, p99_ms: 25 },
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/dispatch-overhead.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
