/**
 * Throughput of 1 vs 3 dispatcher replicas on one PostgreSQL: a burst of N jobs (default 1,000)
 * waiting in the fake Forgejo (in this process), posted to `POST /v1/dispatch` with C requests in
 * flight (default 32), spread round-robin over the replicas. Each replica is a process of its own
 * (./ha-replica.ts: the real wired server, its own connection pool and lease election) whose
 * provider answers every create at once, so what is measured is accept (the limit check in the
 * database transaction), runner registration and the store's transitions.
 * Each replica count runs on a fresh database (./ha-postgres.ts).
 *
 *   node --conditions=source --import tsx scripts/bench/ha-throughput.ts [--jobs 1000] [--replicas 1,3] [--concurrency 32]
 *
 * Prints, per replica count, accepted dispatches/s and the time to the last provider.create, and
 * writes bench-results/ha-throughput.json.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DispatchRequest, ROUTES } from '@forgejo-fleet/dispatch-api';
import { progress } from '@forgejo-fleet/runtime';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { Pool } from 'undici';
import { z } from 'zod';
import { benchDatabase } from './ha-postgres.js';

const CLIENT_TOKEN = 'ha-bench-client-token-0123456789';
const BENCHMARK = 'HA throughput: a burst of jobs over 1 vs 3 dispatcher replicas on PostgreSQL';
/** A burst that has not created every VM by then has failed; generous for a busy 2-core machine. */
const DEADLINE_MS = 180_000;

const Listening = z.object({ op: z.literal('listening'), url: z.string().url() });
const Created = z.object({ op: z.literal('created'), at: z.number() });
const Closed = z.object({
  op: z.literal('closed'),
  cpu_ms: z.number(),
  store_ms: z.number(),
  store_calls: z.number(),
});

const Options = z.object({
  jobs: z.coerce.number().int().min(1).max(100_000),
  replicas: z
    .string()
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(8)).min(1)),
  concurrency: z.coerce.number().int().min(1).max(512),
});
const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    replicas: { type: 'string', default: '1,3' },
    concurrency: { type: 'string', default: '32' },
  },
  strict: true,
});
const options = Options.parse(values);

const runs = [];
let where = '';
for (const replicas of options.replicas) {
  const db = await benchDatabase();
  if ('skipped' in db) {
    process.stdout.write(`${JSON.stringify({ benchmark: BENCHMARK, skipped: db.skipped })}\n`);
    process.exit(0);
  }
  where = db.where;
  try {
    runs.push(await burst(replicas, db.url));
  } finally {
    await db.close();
  }
}
const result = {
  benchmark: BENCHMARK,
  jobs: options.jobs,
  concurrency: options.concurrency,
  store: `postgres: ${where}, a fresh one per replica count`,
  replicas_are: 'processes (scripts/bench/ha-replica.ts: startDispatcher with an instant provider)',
  runs,
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  load_average_1m: +(loadavg()[0] ?? 0).toFixed(2),
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/ha-throughput.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

async function burst(replicas: number, dbUrl: string) {
  const forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
  const jobs = Array.from({ length: options.jobs }, (_, i) =>
    forgejo.enqueueJob({ repo: 'acme/web', name: `job-${i}`, runsOn: ['linux'] }),
  );
  const created: number[] = [];
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  // One at a time: each opens the schema (the first one migrates it).
  for (let r = 0; r < replicas; r++) {
    const child = fork(fileURLToPath(new URL('./ha-replica.ts', import.meta.url)), [], {
      execArgv: ['--conditions=source', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        BENCH_PG_URL: dbUrl,
        BENCH_FORGEJO_URL: forgejo.url,
        BENCH_FORGEJO_TOKEN: token,
        BENCH_CLIENT_TOKEN: CLIENT_TOKEN,
      },
    });
    children.push(child);
    urls.push(await listening(child, created));
  }
  const pools = urls.map((url) => new Pool(url, { connections: Math.ceil(options.concurrency / replicas) }));

  const shown = progress(`ha throughput ${replicas} replica(s)`, options.jobs, {
    stream: process.stderr,
    env: process.env,
  });
  const start = performance.timeOrigin + performance.now();
  let nextJob = 0;
  let lastAccepted = start;
  async function worker(): Promise<void> {
    for (let i = nextJob++; i < jobs.length; i = nextJob++) {
      const job = jobs[i];
      const pool = pools[i % pools.length];
      if (job === undefined || pool === undefined) return;
      const res = await pool.request({
        method: 'POST',
        path: ROUTES.dispatch.path,
        headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          scope: 'org:acme',
          labels: ['linux'],
          job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: `job-${i}` },
        } satisfies DispatchRequest),
      });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`dispatch ${i}: ${res.statusCode} ${text}`);
      lastAccepted = performance.timeOrigin + performance.now();
      shown.update(created.length);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  const deadline = Date.now() + DEADLINE_MS;
  while (created.length < jobs.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    shown.update(created.length);
  }
  shown.done();
  const creates = created.length;
  const lastCreate = Math.max(...created);
  for (const pool of pools) await pool.close();
  const figures = await Promise.all(children.map((child) => closed(child)));
  await forgejo.close();
  if (creates !== jobs.length) throw new Error(`${replicas} replica(s): ${creates}/${jobs.length} creates`);
  const acceptSeconds = (lastAccepted - start) / 1000;
  return {
    replicas,
    accepted_per_s: +(jobs.length / acceptSeconds).toFixed(1),
    all_accepted_ms: Math.round(lastAccepted - start),
    last_create_ms: Math.round(lastCreate - start),
    creates,
    // From each replica's 'listening' to its close, summed over the replicas.
    replicas_cpu_ms: figures.reduce((sum, f) => sum + (f?.cpu_ms ?? 0), 0),
    replicas_store_wait_ms: figures.reduce((sum, f) => sum + (f?.store_ms ?? 0), 0),
    store_calls_per_job: +(figures.reduce((sum, f) => sum + (f?.store_calls ?? 0), 0) / jobs.length).toFixed(
      1,
    ),
  };
}

/** Waits for the replica's URL; from then on its creates land in `created`. */
function listening(child: ChildProcess, created: number[]): Promise<string> {
  return new Promise((resolve, reject) => {
    child.on('message', (raw) => {
      const made = Created.safeParse(raw);
      if (made.success) created.push(made.data.at);
      const up = Listening.safeParse(raw);
      if (up.success) resolve(up.data.url);
    });
    child.once('exit', (code) => reject(new Error(`replica exited (${code}) before listening`)));
  });
}

/** Closes the replica; its figures, or undefined when it had exited already. */
function closed(child: ChildProcess): Promise<z.infer<typeof Closed> | undefined> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(undefined);
    let figures: z.infer<typeof Closed> | undefined;
    child.on('message', (raw) => {
      const parsed = Closed.safeParse(raw);
      if (parsed.success) figures = parsed.data;
    });
    child.once('exit', () => resolve(figures));
    child.send({ op: 'close' });
  });
}
