/**
 * One dispatcher replica in a process of its own, for ./ha-throughput.ts: the real wired server
 * (startDispatcher: HTTP, PostgreSQL store with its own pool, lease election, Forgejo client) as
 * the bin runs it, but with a provider that answers every create at once and reports the moment
 * over the IPC channel, so the parent can time the last create across replicas.
 *
 *   fork('scripts/bench/ha-replica.ts', [], { env: { BENCH_PG_URL, BENCH_FORGEJO_URL, BENCH_FORGEJO_TOKEN, BENCH_CLIENT_TOKEN } })
 *     → `{ op: 'listening', url }`, then `{ op: 'created', at }` per create (epoch ms, sub-ms);
 *     on `{ op: 'close' }` it answers `{ op: 'closed', cpu_ms, store_ms, store_calls }` (this
 *     process's CPU time and the time its calls waited on the store since it listened), closes the
 *     dispatcher and exits.
 */
import { performance } from 'node:perf_hooks';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, startDispatcher } from '@forgejo-fleet/dispatcher';
import { DEFAULT_CHOICE, type Instance, type InstanceSpec, type Provider } from '@forgejo-fleet/providers';
import { openPostgresStore } from '@forgejo-fleet/store';
import { stringify } from 'yaml';
import { z } from 'zod';
import { timedStore } from './ha-timed-store.js';

const Env = z.object({
  BENCH_PG_URL: z.string().url(),
  BENCH_FORGEJO_URL: z.string().url(),
  BENCH_FORGEJO_TOKEN: z.string().min(1),
  BENCH_CLIENT_TOKEN: z.string().min(16),
});
const env = Env.parse(process.env);
const send = (message: unknown) => process.send?.(message);

let next = 0;
const provider: Provider = {
  name: 'instant',
  kind: 'memory',
  choices: [DEFAULT_CHOICE],
  async create(spec: InstanceSpec): Promise<Instance> {
    send({ op: 'created', at: performance.timeOrigin + performance.now() });
    return { id: `i-${process.pid}-${++next}`, name: spec.name, state: 'running', tags: spec.tags };
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
  stringify({
    fleet_id: 'ha-bench',
    listen: { host: '127.0.0.1', port: 0 },
    store: { kind: 'postgres', url_env: 'PG_URL', tls: { mode: 'disable' } },
    forgejo: { api_url: env.BENCH_FORGEJO_URL, instance_url: env.BENCH_FORGEJO_URL, token_env: 'FT' },
    limits: { max_vms: 100_000 },
    providers: {
      instant: { kind: 'shell', command: ['/bin/false'], max_instances: 100_000, create_concurrency: 100 },
    },
    routes: [{ name: 'small', labels: ['linux'], providers: ['instant'], limits: { max_vms: 100_000 } }],
    scopes: { 'org:acme': {} },
    clients: [{ name: 'bench', token_env: 'CT', scopes: ['*'] }],
  }),
  {
    file: 'ha-replica.yaml',
    env: { PG_URL: env.BENCH_PG_URL, FT: env.BENCH_FORGEJO_TOKEN, CT: env.BENCH_CLIENT_TOKEN },
  },
);
const timed = timedStore(
  await openPostgresStore({
    url: env.BENCH_PG_URL,
    poolMax: config.store.pool_max,
    statementTimeoutMs: config.store.statement_timeout,
    tls: { mode: 'disable' },
  }),
);
const dispatcher = await startDispatcher({
  config,
  store: timed.store,
  log: createLogger('silent'),
  providerFor: () => provider,
  reconcileIntervalMs: 3_600_000,
  decisionLogFile: false,
});

let closing = false;
async function close(): Promise<void> {
  if (closing) return;
  closing = true;
  const cpu = process.cpuUsage(listeningCpu);
  send({
    op: 'closed',
    cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    store_ms: Math.round(timed.timing.ms),
    store_calls: timed.timing.calls,
  });
  await dispatcher.close();
  process.exit(0);
}
process.on('message', (raw) => {
  if (z.object({ op: z.literal('close') }).safeParse(raw).success) void close();
});
process.on('disconnect', () => void close());
// The figures count from here: start-up (tsx, migrations) is not the burst's.
const listeningCpu = process.cpuUsage();
timed.timing.reset();
send({ op: 'listening', url: dispatcher.url });
