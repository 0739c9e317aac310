/**
 * Burst: N waiting jobs (default 1,000) across 10 scopes (one org each, its own token), then the real
 * autoscaler starts and hands them to the real dispatcher (HTTP on 127.0.0.1, SQLite on disk),
 * whose provider answers every create after 300 ms with `create_concurrency: 50`. Measures the time
 * from the autoscaler's start until every create was issued and until every create had answered,
 * against the floor N × 0.3 s / 50. Also counts the Forgejo calls per job of the burst.
 *
 *   node --conditions=source --import tsx scripts/bench/burst.ts [--jobs 1000] [--latency 300] [--concurrency 50]
 *
 * Prints target / measured / ratio and writes bench-results/burst-<N>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger as autoscalerLogger, startAutoscaler } from '@forgejo-fleet/autoscaler';
import { parseAutoscalerConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, startDispatcher } from '@forgejo-fleet/dispatcher';
import { DEFAULT_CHOICE, type Instance, type InstanceSpec, type Provider } from '@forgejo-fleet/providers';
import { progress } from '@forgejo-fleet/runtime';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { stringify } from 'yaml';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    latency: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '50' },
  },
  strict: true,
});
const jobs = Number(values.jobs);
const latencyMs = Number(values.latency);
const concurrency = Number(values.concurrency);
const SCOPES = 10;
const floorMs = (jobs * latencyMs) / concurrency;
const targetMs = jobs <= 100 ? 2_000 : floorMs * 1.2;

const work = mkdtempSync(join(tmpdir(), 'fleet-burst-'));
const forgejo = await startFakeForgejo();
forgejo.addUser({ name: 'ops' });
const tokens: Record<string, string> = {};
for (let s = 0; s < SCOPES; s++) {
  forgejo.addOrg({ name: `org${s}`, owners: ['ops'] });
  forgejo.addRepo({ owner: `org${s}`, name: 'app' });
  tokens[`T${s}`] = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
}
for (let i = 0; i < jobs; i++) {
  forgejo.enqueueJob({ repo: `org${i % SCOPES}/app`, name: `job-${i}`, runsOn: ['linux'] });
}

const issued: number[] = [];
const answered: number[] = [];
let inFlight = 0;
let peak = 0;
let next = 0;
const provider: Provider = {
  name: 'cloud',
  kind: 'latency',
  choices: [DEFAULT_CHOICE],
  async create(spec: InstanceSpec): Promise<Instance> {
    issued.push(performance.now());
    peak = Math.max(peak, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, latencyMs));
    inFlight--;
    answered.push(performance.now());
    return { id: `i-${++next}`, name: spec.name, state: 'running', tags: spec.tags };
  },
  async delete() {
    return 'deleted';
  },
  async get() {
    return undefined;
  },
  async list() {
    return [];
  },
};

const scopes = Object.fromEntries(
  Array.from({ length: SCOPES }, (_, s) => [`org:org${s}`, { forgejo_token_env: `T${s}` }]),
);
const dispatcher = await startDispatcher({
  config: parseDispatcherConfig(
    stringify({
      fleet_id: 'burst',
      listen: { host: '127.0.0.1', port: 0 },
      store: { path: join(work, 'burst.db'), decision_log: join(work, 'decisions.jsonl') },
      forgejo: { api_url: forgejo.url, instance_url: forgejo.url },
      limits: { max_vms: 100_000 },
      providers: {
        cloud: {
          kind: 'shell',
          command: ['/bin/false'],
          create_concurrency: concurrency,
          max_instances: 100_000,
        },
      },
      routes: [{ name: 'small', labels: ['linux'], providers: ['cloud'], limits: { max_vms: 100_000 } }],
      scopes,
      clients: [{ name: 'autoscaler', token_env: 'C', scopes: ['*'] }],
    }),
    { file: 'burst.yaml', env: { ...tokens, C: 'burst-client-token-0123456789' } },
  ),
  log: createLogger('silent'),
  providerFor: () => provider,
  reconcileIntervalMs: 3_600_000,
  decisionLogFile: false,
});

const callsBefore = forgejo.calls().length;
const start = performance.now();
const autoscaler = await startAutoscaler({
  config: parseAutoscalerConfig(
    stringify({
      forgejo: { api_url: forgejo.url },
      dispatcher: { url: dispatcher.url, token_env: 'C' },
      poll: { interval: '5s' },
      scopes: Object.fromEntries(
        Object.entries(scopes).map(([k, v]) => [k, { token_env: v.forgejo_token_env }]),
      ),
    }),
    { file: 'burst-autoscaler.yaml', env: { ...tokens, C: 'burst-client-token-0123456789' } },
  ),
  log: autoscalerLogger('silent'),
});
const deadline = Date.now() + 120_000;
const shown = progress(`burst ${jobs} jobs: creates`, jobs, { stream: process.stderr, env: process.env });
while (answered.length < jobs && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  shown.update(answered.length);
}
shown.done();
const lastIssuedMs = (issued.at(-1) ?? Number.NaN) - start;
const lastAnsweredMs = (answered.at(-1) ?? Number.NaN) - start;
await autoscaler.close();
await dispatcher.close();
const calls = forgejo.calls().slice(callsBefore);
await forgejo.close();
rmSync(work, { recursive: true, force: true });

const registrations = calls.filter((c) => c.method === 'POST' && /\/actions\/runners$/.test(c.path)).length;
const result = {
  benchmark: 'burst: waiting jobs → every provider create issued and answered',
  jobs,
  scopes: SCOPES,
  provider: { create_latency_ms: latencyMs, create_concurrency: concurrency, peak_in_flight: peak },
  creates: answered.length,
  floor_ms: floorMs,
  target_ms: targetMs,
  last_create_issued_ms: Math.round(lastIssuedMs),
  all_creates_answered_ms: Math.round(lastAnsweredMs),
  ratio_to_floor: +(lastAnsweredMs / floorMs).toFixed(2),
  met: lastAnsweredMs <= targetMs,
  forgejo_calls: {
    total: calls.length,
    registrations,
    registrations_per_job: +(registrations / jobs).toFixed(3),
  },
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(`bench-results/burst-${jobs}.json`, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `burst ${jobs} jobs / ${SCOPES} scopes: target ≤ ${targetMs} ms, measured ${Math.round(lastAnsweredMs)} ms (last create issued at ${Math.round(lastIssuedMs)} ms), ratio to floor ${result.ratio_to_floor} (${result.machine})\n`,
);
if (answered.length < jobs) process.exitCode = 1;
