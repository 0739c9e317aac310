/**
 * Reconciler cost at scale: one reconcile pass with N live dispatches (default 10,000), each with
 * a running VM in the provider's list and its job running in Forgejo. Measures wall time and CPU
 * time per pass, and counts provider and Forgejo calls per pass. The store is a SQLite file (FULL
 * sync) built with the real insert and transitions; the provider and the Forgejo client answer
 * from memory, so the numbers are the dispatcher's own cost.
 *
 *   node --conditions=source --import tsx scripts/bench/reconcile-scale.ts [count]
 *
 * Prints the result and writes bench-results/reconcile-scale.json.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createDispatchService, createLogger } from '@forgejo-fleet/dispatcher';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import { DEFAULT_CHOICE, type Instance, type Provider } from '@forgejo-fleet/providers';
import { progress } from '@forgejo-fleet/runtime';
import { openSqliteStore } from '@forgejo-fleet/store';

const count = Number(process.argv[2] ?? 10_000);
// The store is built through the real insert and transitions; on tmpfs its 40,000 synced writes
// take seconds instead of a minute, and the passes (reads) measure the same either way.
const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'fleet-reconcile-bench-'));
const config = parseDispatcherConfig(
  `
fleet_id: bench
forgejo: { api_url: http://127.0.0.1:1, instance_url: http://127.0.0.1:1, token_env: T }
limits: { max_vms: 100000 }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud], limits: { max_vms: 100000 } }
scopes:
  org:acme: {}
clients:
  - { name: c, token_env: C, scopes: ['*'] }
`,
  { file: 'bench.yaml', env: { T: 'forgejo-token', C: 'client-token-0123456789' } },
);

const calls = { providerList: 0, providerOther: 0, forgejoListJobs: 0, forgejoOther: 0 };
const instances: Instance[] = [];
const provider: Provider = {
  name: 'cloud',
  kind: 'memory',
  choices: [DEFAULT_CHOICE],
  async create() {
    calls.providerOther++;
    throw new Error('not in this benchmark');
  },
  async delete() {
    calls.providerOther++;
    return 'deleted';
  },
  async get() {
    calls.providerOther++;
    return undefined;
  },
  async list() {
    calls.providerList++;
    return instances;
  },
};
const jobs: { handle: string; status: string }[] = [];
const forgejo = new Proxy({} as ForgejoClient, {
  get(_target, name) {
    if (name === 'listJobs') {
      return async () => {
        calls.forgejoListJobs++;
        return jobs;
      };
    }
    return async () => {
      calls.forgejoOther++;
      return [];
    };
  },
});

const store = openSqliteStore(join(work, 'bench.db'));
const t0 = Date.now() - 60_000;
const setupStart = performance.now();
const seeding = progress(`reconcile-scale: seeding ${count} dispatches`, count, {
  stream: process.stderr,
  env: process.env,
});
for (let i = 0; i < count; i++) {
  seeding.tick();
  const id = `d${String(i).padStart(12, '0')}`;
  const handle = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  await store.insert({
    id,
    handle,
    scope: 'org:acme',
    labels: ['linux'],
    route: 'small',
    client: 'c',
    job: null,
    at: t0,
  });
  await store.transition(id, ['accepted'], 'registering', t0);
  await store.transition(id, ['registering'], 'provisioning', t0, {
    runner: { id: i + 1, uuid: 'u', name: `bench-${id}` },
  });
  await store.transition(id, ['provisioning'], 'booting', t0, { provider: 'cloud', instance_id: `i-${i}` });
  instances.push({
    id: `i-${i}`,
    name: `bench-${id}`,
    state: 'running',
    tags: { 'forgejo-fleet': 'bench', 'forgejo-fleet-dispatch': id },
  });
  jobs.push({ handle, status: 'waiting' });
}
seeding.done();
const setupMs = performance.now() - setupStart;

const service = createDispatchService({
  config,
  store,
  clock: { now: Date.now, sleep: async () => undefined },
  newId: () => 'dunused',
  log: createLogger('silent'),
  forgejoFor: () => forgejo,
  providerFor: () => provider,
});

const passes: { wallMs: number; cpuMs: number }[] = [];
const firstPassCalls: Record<string, number> = {};
for (let pass = 0; pass < 5; pass++) {
  const before = { ...calls };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await service.reconcile();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  passes.push({ wallMs, cpuMs: (used.user + used.system) / 1000 });
  if (pass === 0) {
    Object.assign(firstPassCalls, {
      provider_list: calls.providerList - before.providerList,
      provider_other: calls.providerOther - before.providerOther,
      forgejo_list_jobs: calls.forgejoListJobs - before.forgejoListJobs,
      forgejo_other: calls.forgejoOther - before.forgejoOther,
    });
  }
}
// The dispatcher's memory with N live dispatches: the store, one pass's lists, the service.
globalThis.gc?.();
const memory = process.memoryUsage();
await store.close();
rmSync(work, { recursive: true, force: true });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const result = {
  benchmark: 'one reconcile pass with N live dispatches, each VM listed and its job waiting',
  live_dispatches: count,
  passes: passes.length,
  median_wall_ms: +median(passes.map((p) => p.wallMs)).toFixed(1),
  median_cpu_ms: +median(passes.map((p) => p.cpuMs)).toFixed(1),
  calls_per_pass: firstPassCalls,
  target: { cpu_ms: 100, rss_mb: 150 },
  cpu_ratio: +(median(passes.map((p) => p.cpuMs)) / 100).toFixed(2),
  rss_mb: Math.round(memory.rss / 1_048_576),
  heap_used_mb: Math.round(memory.heapUsed / 1_048_576),
  rss_ratio: +(memory.rss / 1_048_576 / 150).toFixed(2),
  setup_ms: Math.round(setupMs),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/reconcile-scale.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
