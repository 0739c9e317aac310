/**
 * Dispatch overhead: time from `POST /v1/dispatch` to the provider's create call, over 1,000
 * dispatches through the real HTTP server, the SQLite store on disk, the Forgejo client and
 * the fake Forgejo on 127.0.0.1, with a provider that answers at once. The client is undici's
 * `request` on one kept-alive connection (fetch's web streams cost more than the server's parsing).
 *
 *   node --conditions=source --import tsx scripts/bench/dispatch-overhead.ts [count]
 *   BENCH_FORGEJO=process …   the fake Forgejo in a process of its own, as a real one is elsewhere
 *   BENCH_STORE=postgres …    the PostgreSQL store (BENCH_PG_URL, or a throwaway cluster of its own:
 *                             ./ha-postgres.ts) instead of SQLite; skipped with one line without one
 *
 * Prints p50/p90/p99/max and writes bench-results/dispatch-overhead.json
 * (dispatch-overhead-postgres.json for PostgreSQL).
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { type DispatchRequest, ROUTES } from '@forgejo-fleet/dispatch-api';
import { createLogger, forgejoClients, startDispatcher } from '@forgejo-fleet/dispatcher';
import { DEFAULT_CHOICE, type Instance, type InstanceSpec, type Provider } from '@forgejo-fleet/providers';
import { progress } from '@forgejo-fleet/runtime';
import { openPostgresStore, openSqliteStore } from '@forgejo-fleet/store';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { Pool } from 'undici';
import { z } from 'zod';
import { benchDatabase } from './ha-postgres.js';
import { timedStore } from './ha-timed-store.js';

const count = Number(process.argv[2] ?? 1000);
const storeKind = z
  .enum(['sqlite', 'postgres'], { error: 'BENCH_STORE: expected sqlite or postgres' })
  .parse(process.env.BENCH_STORE ?? 'sqlite');
const TARGETS = { sqlite: { p50_ms: 2, p99_ms: 10 }, postgres: { p50_ms: 5, p99_ms: 25 } } as const;
const BENCHMARK = 'dispatch overhead: POST /v1/dispatch → provider.create called';
const resultFile = `bench-results/dispatch-overhead${storeKind === 'sqlite' ? '' : `-${storeKind}`}.json`;
const database = storeKind === 'postgres' ? await benchDatabase() : undefined;
if (database !== undefined && 'skipped' in database) {
  process.stdout.write(
    `${JSON.stringify({ benchmark: `${BENCHMARK} (PostgreSQL)`, skipped: database.skipped })}\n`,
  );
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
// BENCH_FORGEJO=process moves the fake Forgejo into a process of its own (a real one is another
// machine); the default keeps it in this process, as the published figures were measured.
const forgejo = process.env.BENCH_FORGEJO === 'process' ? await forkFakeForgejo() : await inlineFakeForgejo();
const token = forgejo.token;

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
store: ${storeLine()}
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: T }
limits: { max_vms: 100000 }
providers: { instant: { kind: shell, command: [/bin/false], max_instances: 100000 } }
routes: [{ name: small, labels: [linux], providers: [instant], limits: { max_vms: 100000 } }]
scopes: { 'org:acme': {} }
clients: [{ name: bench, token_env: C, scopes: ['*'] }]
`,
  { file: 'bench.yaml', env: { T: token, C: 'bench-client-token', PG_URL: database?.url ?? '' } },
);
// Opened here as startDispatcher would, but timed: the result says how much of the overhead is
// spent waiting on the store.
const timed = timedStore(
  config.store.kind === 'postgres'
    ? await openPostgresStore({
        url: config.store.url?.reveal() ?? '',
        poolMax: config.store.pool_max,
        statementTimeoutMs: config.store.statement_timeout,
        tls: { mode: config.store.tls.mode, caFile: config.store.tls.ca_file },
      })
    : openSqliteStore(config.store.path, { lock: true }),
);
// The clients the dispatcher would make, with the time each Forgejo call took added up: the
// result says how much of the overhead is the registration round trip.
let forgejoMs = 0;
const dispatcher = await startDispatcher({
  config,
  store: timed.store,
  log: createLogger('silent'),
  forgejoFor: forgejoClients(config, (event) => {
    forgejoMs += event.ms;
  }),
  providerFor: () => provider,
  reconcileIntervalMs: 3_600_000,
});

const client = new Pool(dispatcher.url, { connections: 1 });
const samples: number[] = [];
const storeSamples: number[] = [];
const storeCalls: number[] = [];
const forgejoSamples: number[] = [];
const shown = progress('dispatch overhead', count, { stream: process.stderr, env: process.env });
for (let i = 0; i < count; i++) {
  shown.tick();
  const job = await forgejo.enqueue({ repo: 'acme/web', name: `job-${i}`, runsOn: ['linux'] });
  const body = JSON.stringify({
    scope: 'org:acme',
    labels: ['linux'],
    job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: `job-${i}` },
  } satisfies DispatchRequest);
  timed.timing.reset();
  forgejoMs = 0;
  const start = performance.now();
  // undici's request, not the package's client: this measures the dispatcher, not client-side parsing.
  const res = await client.request({
    method: 'POST',
    path: ROUTES.dispatch.path,
    headers: { authorization: 'Bearer bench-client-token', 'content-type': 'application/json' },
    body,
  });
  if (res.statusCode !== 202) throw new Error(`dispatch ${i}: ${res.statusCode} ${await res.body.text()}`);
  await res.body.dump();
  await dispatcher.service.drain();
  const created = createdAt.get(job.handle);
  if (created === undefined) throw new Error(`dispatch ${i}: no create call`);
  samples.push(created - start);
  // Counted to the drain: the few writes after the create call belong to the same dispatch.
  storeSamples.push(timed.timing.ms);
  storeCalls.push(timed.timing.calls);
  forgejoSamples.push(forgejoMs);
}
shown.done();
await client.close();
await dispatcher.close();
forgejo.close();
await database?.close();
rmSync(work, { recursive: true, force: true });

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
samples.sort((a, b) => a - b);
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
const result = {
  benchmark: storeKind === 'sqlite' ? BENCHMARK : `${BENCHMARK} (PostgreSQL)`,
  store: storeKind === 'sqlite' ? 'sqlite (file)' : `postgres: ${database?.where}`,
  count,
  p50_ms: +at(0.5).toFixed(2),
  p90_ms: +at(0.9).toFixed(2),
  p99_ms: +at(0.99).toFixed(2),
  max_ms: +(samples.at(-1) ?? 0).toFixed(2),
  targets: TARGETS[storeKind],
  store_ms_per_dispatch_p50: +median(storeSamples).toFixed(2),
  store_calls_per_dispatch_p50: median(storeCalls),
  forgejo_ms_per_dispatch_p50: +median(forgejoSamples).toFixed(2),
  load_average_1m: +(loadavg()[0] ?? 0).toFixed(2),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

/** The config's store section: the SQLite file in the work folder, or the bench database. */
function storeLine(): string {
  const decisionLog = join(work, 'decisions.jsonl');
  if (storeKind === 'sqlite') return `{ path: ${join(work, 'bench.db')}, decision_log: ${decisionLog} }`;
  return `{ kind: postgres, url_env: PG_URL, tls: { mode: disable }, decision_log: ${decisionLog} }`;
}

/** The fake Forgejo in this process, with the same small interface as the forked one. */
async function inlineFakeForgejo() {
  const fake = await startFakeForgejo();
  fake.addUser({ name: 'ops' });
  fake.addOrg({ name: 'acme', owners: ['ops'] });
  fake.addRepo({ owner: 'acme', name: 'web' });
  const token = fake.addToken({ user: 'ops', scopes: ['write:organization'] });
  return {
    url: fake.url,
    token,
    async enqueue(job: { repo: string; name: string; runsOn: string[] }) {
      const { handle, id } = fake.enqueueJob(job);
      return { handle, id };
    },
    close: () => void fake.close(),
  };
}

/** The fake Forgejo in its own process (./forgejo-process.ts), driven over IPC. */
async function forkFakeForgejo() {
  const child = fork(fileURLToPath(new URL('./forgejo-process.ts', import.meta.url)), [], {
    execArgv: ['--conditions=source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`fake Forgejo exited (${code})`)));
    });
  const started = z.object({ url: z.string(), token: z.string() }).parse(await next());
  const Job = z.object({ handle: z.string(), id: z.number() });
  return {
    ...started,
    async enqueue(job: { repo: string; name: string; runsOn: string[] }) {
      const answer = next();
      child.send({ op: 'enqueue', ...job });
      return Job.parse(await answer);
    },
    close: () => child.disconnect(),
  };
}
