/**
 * Billed Hetzner server-hours per job, with and without paid-hour reuse (issue 19), on the fake
 * Hetzner Cloud and the fake Forgejo with a virtual clock: the real dispatcher service (SQLite),
 * the real Hetzner provider, reconcile passes every 30 s of virtual time.
 *
 *   steady: 5-minute jobs arriving at 12 per hour for a simulated day;
 *   bursts: then 3 bursts of 10 jobs, an hour apart.
 *
 * A server is billed per started hour from its `created` time until it is deleted. Queue time is
 * from the dispatch to the machine running the job's bootstrap: a create's server boots for the
 * fake's action time after the create answers; a rebuild's has booted when its action is done.
 *
 *   node --conditions=source --import tsx scripts/bench/hetzner-reuse-cost.ts [--action-ms N]
 *
 * Prints the table and writes bench-results/hetzner-reuse-cost.json; exits 1 when reuse misses
 * the target of 0.25 billed hours per job at steady load.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createDispatchService, createLogger } from '@forgejo-fleet/dispatcher';
import { createForgejoClient, type ForgejoClient } from '@forgejo-fleet/forgejo';
import { createProvider } from '@forgejo-fleet/providers';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { openSqliteStore } from '@forgejo-fleet/store';
import { startFakeForgejo, startFakeHetzner } from '@forgejo-fleet/testkit';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const JOB_MS = 5 * MINUTE;
const PASS_MS = 30_000;
const TARGET = 0.25;
const argAt = process.argv.indexOf('--action-ms');
const ACTION_MS = argAt > 0 ? Number(process.argv[argAt + 1]) : 45_000;

interface Phase {
  readonly jobs: number;
  readonly billedHours: number;
  readonly perJob: number;
  readonly queueP50s: number;
  readonly queueMaxS: number;
  readonly rebuilt: number;
}

async function simulate(reuse: boolean): Promise<{ steady: Phase; bursts: Phase }> {
  const start = Date.parse('2026-11-23T00:00:00Z');
  const clock = virtualClock(start);
  const forgejo = await startFakeForgejo();
  const hetzner = await startFakeHetzner({ now: clock.now, rateLimit: false, actionMs: ACTION_MS });
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
  const config = parseDispatcherConfig(
    `
fleet_id: bench
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, token_env: FT }
providers:
  hetzner: { kind: hetzner, endpoint: ${hetzner.url}, token_env: HT, server_types: [cpx22], locations: [fsn1], image: ubuntu-24.04 }
routes:
  - name: small
    labels: [linux]
    providers: [hetzner]
    limits: { max_vms: 50 }
    timeouts: { boot: 10m, pickup: 30m, job: 1h, max_lifetime: 6h }
    reuse: { paid_hour: ${reuse}, min_left: 10m }
scopes:
  org:acme: {}
clients:
  - { name: bench, token_env: CT, scopes: ['*'] }
`,
    { file: 'bench.yaml', env: { FT: token, HT: hetzner.token, CT: 'client-token-0123456789' } },
  );
  const hz = config.providers.hetzner;
  if (hz === undefined) throw new Error('no provider');
  const provider = createProvider('hetzner', hz, undefined, { clock });
  const client: ForgejoClient = createForgejoClient({ apiUrl: config.forgejo.api_url, token });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-reuse-bench-'));
  const store = openSqliteStore(join(dir, 'dispatcher.db'));
  let ids = 0;
  const service = createDispatchService({
    config,
    store,
    clock,
    newId: () => `d${String(++ids).padStart(12, '0')}`,
    log: createLogger('silent'),
    forgejoFor: () => client,
    providerFor: () => provider,
  });

  const arrivals: { at: number; phase: 'steady' | 'bursts' }[] = [];
  for (let t = 0; t < 24 * HOUR; t += 5 * MINUTE) arrivals.push({ at: start + t, phase: 'steady' });
  for (let burst = 0; burst < 3; burst++)
    for (let i = 0; i < 10; i++) arrivals.push({ at: start + 24 * HOUR + burst * HOUR, phase: 'bursts' });
  const end = start + 27 * HOUR;
  const jobs: { handle: string; id: string; phase: string; at: number; ready?: number; done?: number }[] = [];
  const created = new Map<number, number>();
  const deleted = new Map<number, number>();
  let next = 0;

  for (let now = start; now < end + 2 * HOUR; now += PASS_MS) {
    clock.advance(now - clock.now());
    while (next < arrivals.length && (arrivals[next]?.at ?? Number.POSITIVE_INFINITY) <= now) {
      const arrival = arrivals[next++];
      if (arrival === undefined) break;
      const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
      const { record } = await service.dispatch(
        {
          scope: 'org:acme',
          labels: ['linux'],
          job: {
            handle: job.handle,
            id: job.id,
            attempt: job.attempt,
            repo_id: 1,
            owner_id: 1,
            name: 'build',
          },
        },
        { name: 'bench', scopes: '*' },
      );
      jobs.push({ handle: job.handle, id: record.id, phase: arrival.phase, at: clock.now() });
    }
    await service.drain();
    for (const job of jobs) {
      if (job.done !== undefined) continue;
      const record = await store.get(job.id);
      if (job.ready === undefined && record?.state === 'booting') {
        const booted = record.transitions.find((t) => t.state === 'booting')?.at ?? clock.now();
        const rebuilt = record.transitions.some((t) => (t.reason ?? '').startsWith('reused server'));
        job.ready = booted + (rebuilt ? 0 : ACTION_MS);
      }
      if (job.ready !== undefined && clock.now() >= job.ready + JOB_MS && record?.instance_id) {
        forgejo.cancelJob(job.handle);
        hetzner.setStatus(record.instance_id, 'off');
        job.done = clock.now();
      }
    }
    await service.reconcile();
    await service.drain();
    const present = new Set<number>();
    for (const server of hetzner.servers()) {
      if (!created.has(server.id)) created.set(server.id, server.createdAt);
      if (server.status !== 'deleting') present.add(server.id);
    }
    // Billing stops at the delete: a server gone from the list (or deleting) was deleted this pass.
    for (const id of created.keys()) if (!present.has(id) && !deleted.has(id)) deleted.set(id, clock.now());
  }

  const rebuilt = hetzner.servers().reduce((n, s) => n + s.rebuilds.length, 0);
  function phase(name: string): Phase {
    const mine = jobs.filter((j) => j.phase === name);
    let billed = 0;
    for (const [id, at] of created) {
      const gone = deleted.get(id);
      const from = at < start + 24 * HOUR ? 'steady' : 'bursts';
      if (from !== name) continue;
      billed += Math.ceil(((gone ?? clock.now()) - at) / HOUR);
    }
    const queue = mine.map((j) => ((j.ready ?? clock.now()) - j.at) / 1000).sort((a, b) => a - b);
    return {
      jobs: mine.length,
      billedHours: billed,
      perJob: Number((billed / mine.length).toFixed(3)),
      queueP50s: queue[Math.floor(queue.length / 2)] ?? 0,
      queueMaxS: queue.at(-1) ?? 0,
      rebuilt: name === 'steady' ? rebuilt : 0,
    };
  }
  const result = { steady: phase('steady'), bursts: phase('bursts') };
  await store.close();
  await hetzner.close();
  await forgejo.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const fresh = await simulate(false);
const reused = await simulate(true);
const result = { action_ms: ACTION_MS, target_per_job: TARGET, fresh, reuse: reused };
console.log(`hetzner reuse cost (action ${ACTION_MS / 1000} s; 5-min jobs)`);
for (const [name, run] of [
  ['fresh creates', fresh],
  ['paid-hour reuse', reused],
] as const) {
  for (const p of ['steady', 'bursts'] as const) {
    const r = run[p];
    console.log(
      `  ${name.padEnd(16)} ${p.padEnd(6)} ${String(r.jobs).padStart(4)} jobs  ${String(r.billedHours).padStart(4)} billed h  ${r.perJob.toFixed(3)} h/job  queue p50 ${r.queueP50s} s, max ${r.queueMaxS} s`,
    );
  }
}
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/hetzner-reuse-cost.json', `${JSON.stringify(result, null, 2)}\n`);
if (reused.steady.perJob > TARGET) {
  console.error(`reuse: ${reused.steady.perJob} billed hours per job at steady load, target ≤ ${TARGET}`);
  process.exit(1);
}
