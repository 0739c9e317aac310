/**
 * API economy: how many calls the services make, counted in the fakes' call logs.
 *   - Forgejo calls per job: N jobs (default 100) through the real autoscaler and dispatcher to
 *     in-process VMs running the fake runner, to the end (VM deleted, registration gone);
 *   - Forgejo calls per poll tick: the autoscaler polling 3 scopes with an empty queue and with
 *     600 waiting jobs the dispatcher refuses (so they stay queued);
 *   - provider calls per reconcile pass, with the N VMs live and after.
 *
 *   node --conditions=source --import tsx scripts/bench/api-economy.ts [--jobs 100]
 *
 * Prints target / measured / ratio and writes bench-results/api-economy.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createLogger as autoscalerLogger,
  type RunningAutoscaler,
  startAutoscaler,
} from '@forgejo-fleet/autoscaler';
import { parseAutoscalerConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, startDispatcher } from '@forgejo-fleet/dispatcher';
import type { Provider } from '@forgejo-fleet/providers';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { stringify } from 'yaml';
import { inProcessVms } from '../../test/autoscaler-vms.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '100' } }, strict: true });
const jobs = Number(values.jobs);
const SCOPES = ['org0', 'org1', 'org2'];
const CLIENT = 'economy-client-token-0123456789';

async function world() {
  const forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  const tokens: Record<string, string> = {};
  for (const [i, org] of SCOPES.entries()) {
    forgejo.addOrg({ name: org, owners: ['ops'] });
    forgejo.addRepo({ owner: org, name: 'app' });
    tokens[`T${i}`] = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
  }
  return { forgejo, tokens };
}

function autoscalerYaml(forgejo: RunningFakeForgejo, dispatcherUrl: string, interval: string) {
  return stringify({
    forgejo: { api_url: forgejo.url },
    dispatcher: { url: dispatcherUrl, token_env: 'C' },
    poll: { interval, jitter: 0 },
    scopes: Object.fromEntries(SCOPES.map((org, i) => [`org:${org}`, { token_env: `T${i}` }])),
  });
}

async function until(probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Part 1: per job and per reconcile pass, through the whole loop. */
async function perJob() {
  const { forgejo, tokens } = await world();
  const work = mkdtempSync(join(tmpdir(), 'fleet-economy-'));
  const vms = inProcessVms({ jobMs: 50 });
  const providerCalls: Record<string, number> = {};
  const counted: Provider = new Proxy(vms.provider, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        providerCalls[String(key)] = (providerCalls[String(key)] ?? 0) + 1;
        return Reflect.apply(value, target, args) as unknown;
      };
    },
  });
  const dispatcher = await startDispatcher({
    config: parseDispatcherConfig(
      stringify({
        fleet_id: 'economy',
        listen: { host: '127.0.0.1', port: 0 },
        store: { path: join(work, 'e.db'), decision_log: join(work, 'd.jsonl') },
        forgejo: { api_url: forgejo.url, instance_url: forgejo.url },
        reconcile: { orphan_grace: '0s' },
        limits: { max_vms: 10_000 },
        providers: {
          vm: { kind: 'shell', command: ['/bin/false'], create_concurrency: 20, max_instances: 100_000 },
        },
        routes: [{ name: 'small', labels: ['linux'], providers: ['vm'], limits: { max_vms: 10_000 } }],
        scopes: Object.fromEntries(SCOPES.map((org, i) => [`org:${org}`, { forgejo_token_env: `T${i}` }])),
        clients: [{ name: 'autoscaler', token_env: 'C', scopes: ['*'] }],
      }),
      { file: 'economy.yaml', env: { ...tokens, C: CLIENT } },
    ),
    log: createLogger('silent'),
    providerFor: () => counted,
    reconcileIntervalMs: 3_600_000,
    decisionLogFile: false,
  });
  const autoscaler = await startAutoscaler({
    config: parseAutoscalerConfig(autoscalerYaml(forgejo, dispatcher.url, '1s'), {
      file: 'a.yaml',
      env: { ...tokens, C: CLIENT },
    }),
    log: autoscalerLogger('silent'),
  });
  for (let i = 0; i < jobs; i++)
    forgejo.enqueueJob({ repo: `${SCOPES[i % 3]}/app`, name: `j${i}`, runsOn: ['linux'] });

  // Reconcile passes by hand, counting the provider calls of each.
  const passes: Record<string, number>[] = [];
  async function pass(): Promise<void> {
    const before = { ...providerCalls };
    await dispatcher.service.reconcile();
    await dispatcher.service.drain();
    const delta: Record<string, number> = {};
    for (const [k, v] of Object.entries(providerCalls))
      if (v !== (before[k] ?? 0)) delta[k] = v - (before[k] ?? 0);
    passes.push(delta);
  }
  await until(() => vms.created() >= jobs, 60_000);
  await pass();
  const livePass = passes.at(-1);
  await until(() => forgejo.jobs().every((j) => j.status === 'success'), 60_000);
  for (let i = 0; i < 5 && (vms.instances.size > 0 || forgejo.runners().some((r) => !r.deleted)); i++)
    await pass();
  // A pass after everything ended: the steady cost of an idle fleet.
  await pass();
  const idlePass = passes.at(-1);
  await autoscaler.close();
  await vms.shutdown();
  await dispatcher.close();
  const calls = forgejo.calls().filter((c) => c.path.startsWith('/api/v1/'));
  await forgejo.close();
  rmSync(work, { recursive: true, force: true });
  const count = (method: string, re: RegExp) =>
    calls.filter((c) => c.method === method && re.test(c.path)).length;
  return {
    jobs,
    vms_created: vms.created(),
    registrations: count('POST', /\/actions\/runners$/),
    runner_deletions: count('DELETE', /\/actions\/runners\/\d+$/),
    runner_gets: count('GET', /\/actions\/runners\/\d+$/),
    runner_lists: count('GET', /\/actions\/runners$/),
    job_lists: count('GET', /\/actions\/runners\/jobs$/),
    provider_calls_total: providerCalls,
    provider_calls_per_pass_with_live_vms: livePass,
    provider_calls_per_pass_idle: idlePass,
    reconcile_passes: passes.length,
  };
}

/** Part 2: Forgejo requests per poll tick, empty queue vs a long one. */
async function perTick(queued: number) {
  const { forgejo, tokens } = await world();
  // A dispatcher stand-in that refuses every job (503), so the queue stays as long as it is.
  const app = new Hono();
  app.get('/v1/routes', (c) => c.json({ routes: [{ name: 'small', labels: ['linux'] }] }));
  app.post('/v1/dispatch', (c) => c.json({ error: { code: 'unavailable', message: 'busy' } }, 503));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  for (let i = 0; i < queued; i++)
    forgejo.enqueueJob({ repo: `${SCOPES[i % 3]}/app`, name: `j${i}`, runsOn: ['linux'] });
  const ticks: Record<string, number> = {};
  const autoscaler: RunningAutoscaler = await startAutoscaler({
    config: parseAutoscalerConfig(autoscalerYaml(forgejo, url, '1s'), {
      file: 'a.yaml',
      env: { ...tokens, C: CLIENT },
    }),
    log: autoscalerLogger('silent'),
    onEvent: () => undefined,
  });
  const before = forgejo.calls().length;
  await new Promise((resolve) => setTimeout(resolve, 5_200));
  await autoscaler.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const calls = forgejo.calls().slice(before);
  await forgejo.close();
  const lists = calls.filter((c) => /\/actions\/runners\/jobs$/.test(c.path));
  for (const c of lists) ticks[c.path] = (ticks[c.path] ?? 0) + 1;
  const perScope = Object.values(ticks);
  return {
    queued,
    seconds: 5.2,
    poll_interval_s: 1,
    job_list_requests_per_scope: ticks,
    other_requests: calls.length - lists.length,
    // One tick at start, then one per interval: 6 ticks in 5.2 s.
    poll_ticks: 6,
    requests_per_tick_per_scope: +(Math.max(...perScope) / 6).toFixed(2),
  };
}

const loop = await perJob();
const empty = await perTick(0);
const long = await perTick(600);
const result = {
  benchmark: 'API economy: Forgejo and provider calls counted in the fakes',
  per_job: {
    ...loop,
    registrations_per_job: { target: 1, measured: +(loop.registrations / jobs).toFixed(3) },
    deletions_per_job: { target: '≤ 1', measured: +(loop.runner_deletions / jobs).toFixed(3) },
  },
  per_poll_tick: {
    empty_queue: empty,
    queue_600: long,
    target: '1 request per scope per tick, whatever the queue length',
  },
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/api-economy.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
