/**
 * Failover time: 3 dispatcher processes (the real main, `forgejo-fleet-dispatcher --config FILE`,
 * run from source as the bin does in a checkout) on one PostgreSQL; the leader is SIGKILLed, and
 * the time is measured until a survivor has completed its first reconcile pass as the new leader.
 * Every replica's `/readyz` role and `/metrics` are polled every 100 ms; the pass end is the new
 * leader's own `forgejo_fleet_reconcile_last_pass_timestamp_seconds`, so the poll adds no error
 * to it. After each failover the killed replica is started again, so every kill meets 3 replicas;
 * each kill waits a random (seeded) part of a renewal period first, so the kills sample every
 * phase of the lease. Target: at most lease_ttl + one reconcile interval.
 *
 *   node --conditions=source --import tsx scripts/bench/ha-failover.ts [--ttl-ms 15000] [--failovers 3] [--seed 1]
 *
 * The reconcile interval is the config default (15 s); renewals every ttl / 3 (the default).
 * Prints every failover with the median and writes bench-results/ha-failover-ttl<seconds>s.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { stringify } from 'yaml';
import { z } from 'zod';
import { benchDatabase } from './ha-postgres.js';

const BENCHMARK = 'HA failover: leader SIGKILLed → first reconcile pass completed by the new leader';
const MAIN = fileURLToPath(new URL('../../apps/dispatcher/src/main.ts', import.meta.url));
const POLL_MS = 100;
/** The config default of reconcile.interval, which this benchmark leaves alone. */
const RECONCILE_INTERVAL_MS = 15_000;
/** A replica that is not up, or a failover that has not happened, by then has failed. */
const STEP_DEADLINE_MS = 120_000;
const REPLICAS = 3;
const Ready = z.object({ role: z.enum(['leader', 'follower']) });
const LAST_PASS = /^forgejo_fleet_reconcile_last_pass_timestamp_seconds (\S+)$/m;
const PASS_SUM = /^forgejo_fleet_reconcile_seconds_sum (\S+)$/m;
const PASS_COUNT = /^forgejo_fleet_reconcile_seconds_count (\S+)$/m;

const { values } = parseArgs({
  options: {
    'ttl-ms': { type: 'string', default: '15000' },
    failovers: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
  },
  strict: true,
});
const options = z
  .object({
    'ttl-ms': z.coerce.number().int().min(3_000).max(300_000),
    failovers: z.coerce.number().int().min(1).max(20),
    seed: z.coerce.number().int().min(0),
  })
  .parse(values);
const ttlMs = options['ttl-ms'];
const renewEveryMs = Math.floor(ttlMs / 3);
const targetMs = ttlMs + RECONCILE_INTERVAL_MS;

const db = await benchDatabase();
if ('skipped' in db) {
  process.stdout.write(`${JSON.stringify({ benchmark: BENCHMARK, skipped: db.skipped })}\n`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'fleet-failover-'));
const forgejo = await startFakeForgejo();
forgejo.addUser({ name: 'ops' });
forgejo.addOrg({ name: 'acme', owners: ['ops'] });
forgejo.addRepo({ owner: 'acme', name: 'web' });
writeFileSync(
  join(work, 'forgejo-token'),
  forgejo.addToken({ user: 'ops', scopes: ['write:organization'] }),
  {
    mode: 0o600,
  },
);
writeFileSync(join(work, 'pg-url'), db.url, { mode: 0o600 });
writeFileSync(join(work, 'client-token'), 'ha-failover-client-token-0123456789', { mode: 0o600 });
// A shell provider with an empty cloud: each pass lists it through a real exec, as in production.
writeFileSync(
  join(work, 'provider.sh'),
  `#!/bin/sh\ncase "$1" in\n  list) echo '{"apiVersion":"forgejo-fleet.shell/v1","instances":[]}' ;;\n  get|delete) exit 3 ;;\n  *) exit 1 ;;\nesac\n`,
  { mode: 0o755 },
);

interface Replica {
  readonly name: string;
  readonly port: number;
  readonly config: string;
  child: ChildProcess | undefined;
}
const replicas: Replica[] = [];
const failovers: { lease_wait_ms: number; pass_ms: number; first_pass_ms: number; new_leader: string }[] = [];
let random = options.seed || 1;
try {
  for (let r = 0; r < REPLICAS; r++) replicas.push(await configure(`r${r + 1}`));
  for (const replica of replicas) await start(replica);
  let leader = await waitFor('a leader with a completed pass', async () => {
    const states = await Promise.all(replicas.map(observe));
    return replicas.find((_, i) => states[i]?.role === 'leader' && (states[i]?.lastPassMs ?? 0) > 0);
  });
  for (let n = 0; n < options.failovers; n++) {
    await delay(nextRandom() * renewEveryMs);
    const survivors = replicas.filter((r) => r !== leader);
    // Followers run no pass: their pass totals stay put until one of them leads.
    const before = new Map(await Promise.all(survivors.map(async (r) => [r, await observe(r)] as const)));
    const killedAt = Date.now();
    leader.child?.kill('SIGKILL');
    await exited(leader);
    const next = await waitFor(`failover ${n + 1}`, async () => {
      for (const replica of survivors) {
        const state = await observe(replica);
        if (state?.role === 'leader' && state.lastPassMs > killedAt) return { replica, state };
      }
      return undefined;
    });
    const earlier = before.get(next.replica);
    const firstPassMs = Math.round(next.state.lastPassMs - killedAt);
    // One pass since the kill: its duration is the growth of the sum (else unknown).
    const passMs =
      earlier !== undefined && next.state.passCount - earlier.passCount === 1
        ? Math.round((next.state.passSeconds - earlier.passSeconds) * 1000)
        : Number.NaN;
    failovers.push({
      lease_wait_ms: firstPassMs - passMs,
      pass_ms: passMs,
      first_pass_ms: firstPassMs,
      new_leader: next.replica.name,
    });
    process.stderr.write(
      `ha failover ${n + 1}/${options.failovers}: ${failovers.at(-1)?.first_pass_ms} ms\n`,
    );
    await start(leader);
    leader = next.replica;
  }
} finally {
  await Promise.all(replicas.map(stop));
  await forgejo.close();
  await db.close();
  rmSync(work, { recursive: true, force: true });
}

const sorted = failovers.map((f) => f.first_pass_ms).sort((a, b) => a - b);
const result = {
  benchmark: BENCHMARK,
  replicas: `${REPLICAS} processes (apps/dispatcher/src/main.ts, as the bin runs it from source)`,
  store: `postgres: ${db.where}`,
  lease_ttl_ms: ttlMs,
  renew_every_ms: renewEveryMs,
  reconcile_interval_ms: RECONCILE_INTERVAL_MS,
  failovers,
  median_ms: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
  max_ms: sorted.at(-1) ?? Number.NaN,
  target_ms: targetMs,
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  load_average_1m: +(loadavg()[0] ?? 0).toFixed(2),
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(`bench-results/ha-failover-ttl${ttlMs / 1000}s.json`, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

async function configure(name: string): Promise<Replica> {
  const port = await freePort();
  const config = join(work, `${name}.yaml`);
  writeFileSync(
    config,
    stringify({
      fleet_id: 'ha-failover',
      listen: { host: '127.0.0.1', port },
      log: { level: 'warn' },
      store: {
        kind: 'postgres',
        url_file: 'pg-url',
        tls: { mode: 'disable' },
        decision_log: join(work, `${name}-decisions.jsonl`),
      },
      ha: { lease_ttl: `${ttlMs}ms` },
      forgejo: { api_url: forgejo.url, instance_url: forgejo.url, token_file: 'forgejo-token' },
      providers: { local: { kind: 'shell', command: [join(work, 'provider.sh')] } },
      routes: [{ name: 'small', labels: ['linux'], providers: ['local'] }],
      scopes: { 'org:acme': {} },
      clients: [{ name: 'bench', token_file: 'client-token', scopes: ['*'] }],
    }),
  );
  return { name, port, config, child: undefined };
}

async function start(replica: Replica): Promise<void> {
  const log = openSync(join(work, `${replica.name}.log`), 'a');
  replica.child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', MAIN, '--config', replica.config],
    { stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '', CREDENTIALS_DIRECTORY: work } },
  );
  await waitFor(`${replica.name} up`, async () => {
    if (replica.child?.exitCode !== null) {
      throw new Error(`${replica.name} exited: ${readFileSync(join(work, `${replica.name}.log`), 'utf8')}`);
    }
    const res = await get(replica, '/healthz');
    await res?.body?.cancel();
    return res?.ok ? true : undefined;
  });
}

async function stop(replica: Replica): Promise<void> {
  const child = replica.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await exited(replica);
}

function exited(replica: Replica): Promise<void> {
  const child = replica.child;
  return new Promise((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

interface Observed {
  readonly role: string;
  /** When its last pass ended (epoch ms; 0: none). */
  readonly lastPassMs: number;
  readonly passSeconds: number;
  readonly passCount: number;
}

/** The replica's role and reconcile figures, or undefined when it does not answer. */
async function observe(replica: Replica): Promise<Observed | undefined> {
  const ready = await get(replica, '/readyz');
  const metrics = await get(replica, '/metrics');
  if (ready === undefined || metrics === undefined) return undefined;
  const { role } = Ready.parse(await ready.json());
  const text = await metrics.text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    role,
    lastPassMs: value(LAST_PASS) * 1000,
    passSeconds: value(PASS_SUM),
    passCount: value(PASS_COUNT),
  };
}

async function get(replica: Replica, path: string): Promise<Response | undefined> {
  try {
    return await fetch(`http://127.0.0.1:${replica.port}${path}`, { signal: AbortSignal.timeout(5_000) });
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + STEP_DEADLINE_MS;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await delay(POLL_MS);
  }
  throw new Error(`ha-failover: no ${what} within ${STEP_DEADLINE_MS} ms`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A seeded LCG in [0, 1): the same kill phases for the same --seed. */
function nextRandom(): number {
  random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
  return random / 2 ** 31;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}
