/**
 * Job arrival → runner start, warm pool vs cold create, against the fakes on 127.0.0.1: the real
 * dispatcher (HTTP API, SQLite on disk, agent endpoint), the fake Forgejo, and an instant
 * in-memory cloud whose warm VMs' agents are played in-process over real HTTP long-polls.
 *
 *   warm: POST /v1/dispatch → the VM's held agent poll answers with the job (the runner starts
 *         then). This is the warm path's whole overhead on top of the agent's poll.
 *   cold: POST /v1/dispatch → the provider's create call, plus the VM's boot before its runner
 *         starts, which no fake can show: it is added as a model (--boot-ms, default 30,000 ms,
 *         inside the 25–60 s cold boots of the issue).
 *
 *   node --conditions=source --import tsx scripts/bench/warm-vs-cold.ts [jobs] [--boot-ms N]
 *
 * Prints p50/p99 of both and writes bench-results/warm-vs-cold.json.
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

const jobs = Number(process.argv[2] ?? 200);
const bootIndex = process.argv.indexOf('--boot-ms');
const bootMs = bootIndex > 0 ? Number(process.argv[bootIndex + 1]) : 30_000;
const work = mkdtempSync(join(tmpdir(), 'fleet-warm-bench-'));
const forgejo = await startFakeForgejo();
forgejo.addUser({ name: 'ops' });
forgejo.addOrg({ name: 'acme', owners: ['ops'] });
forgejo.addRepo({ owner: 'acme', name: 'web' });
const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

const instances = new Map<string, Instance & { userData: string }>();
const createdAt = new Map<string, number>();
let next = 0;
const provider: Provider = {
  name: 'cloud',
  kind: 'memory',
  choices: [DEFAULT_CHOICE],
  async create(spec: InstanceSpec) {
    const handle = spec.tags['forgejo-fleet-handle'];
    if (handle !== undefined) createdAt.set(handle, performance.now());
    const instance = {
      id: `i-${++next}`,
      name: spec.name,
      state: 'running' as const,
      tags: spec.tags,
      userData: spec.userData,
    };
    instances.set(instance.id, instance);
    return instance;
  },
  async delete(id) {
    return instances.delete(id) ? 'deleted' : 'not-found';
  },
  async get(id) {
    return instances.get(id);
  },
  async list(tags) {
    return [...instances.values()].filter((i) => Object.entries(tags).every(([k, v]) => i.tags[k] === v));
  },
};

const config = parseDispatcherConfig(
  `
fleet_id: bench
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'bench.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: T }
agent: { listen: { host: 127.0.0.1, port: 0 }, public_url: http://127.0.0.1:1, hold: 25s, max_polls_per_second: 10000, max_polls_per_source: 10000 }
limits: { max_vms: 100000 }
providers:
  cloud: { kind: shell, command: [/bin/false], create_concurrency: 100, max_instances: 100000 }
routes:
  - { name: warm, labels: [warm], providers: [cloud], limits: { max_vms: 100000 }, warm: { min_idle: 5 } }
  - { name: cold, labels: [cold], providers: [cloud], limits: { max_vms: 100000 } }
scopes:
  org:acme: {}
clients:
  - { name: c, token_env: C, scopes: ['*'] }
`,
  { file: 'bench.yaml', env: { T: token, C: 'bench-client-token' } },
);
const dispatcher = await startDispatcher({
  config,
  log: createLogger('silent'),
  providerFor: () => provider,
  reconcileIntervalMs: 3_600_000,
  warmUserData: ({ vmId, secret }) => `vm=${vmId} secret=${secret}`,
});

// The agents: one long-poll loop per warm VM, as the real agent does, over real HTTP.
const assignedAt = new Map<string, number>();
const agents = new Set<string>();
let stopping = false;
function startAgents(): void {
  for (const instance of instances.values()) {
    if (instance.tags['forgejo-fleet-warm'] === undefined || agents.has(instance.id)) continue;
    agents.add(instance.id);
    const [, vmId, secret] = /^vm=(\S+) secret=(\S+)$/.exec(instance.userData) ?? [];
    void (async () => {
      while (!stopping) {
        const res = await fetch(`${dispatcher.agentUrl}/v1/agent/poll`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ vm_id: vmId }),
        }).catch(() => undefined);
        if (res?.status === 200) {
          const body = (await res.json()) as { handle: string };
          assignedAt.set(body.handle, performance.now());
          return;
        }
        await res?.arrayBuffer();
        // As the real agent does: a 429 is waited out (every simulated VM polls from 127.0.0.1,
        // which the per-source limit above is raised for), anything else over 400 ends the VM.
        if (res?.status === 429) {
          await new Promise((resolve) =>
            setTimeout(resolve, 1000 * Number(res.headers.get('retry-after') ?? 1)),
          );
          continue;
        }
        if (res === undefined || res.status >= 400) return;
      }
    })();
  }
}

async function dispatch(label: string): Promise<{ handle: string; start: number }> {
  const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'bench', runsOn: [label] });
  const start = performance.now();
  // Plain fetch, not the package's client: this measures the dispatcher, not client-side parsing.
  const res = await fetch(`${dispatcher.url}${ROUTES.dispatch.path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-client-token', 'content-type': 'application/json' },
    body: JSON.stringify({
      scope: 'org:acme',
      labels: [label],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'bench' },
    } satisfies DispatchRequest),
  });
  if (res.status !== 202) throw new Error(`dispatch: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return { handle: job.handle, start };
}

async function until(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`timed out waiting for ${what}`);
}

await dispatcher.service.refillWarm();
const warm: number[] = [];
const shown = progress('warm-vs-cold', 2 * jobs, { stream: process.stderr, env: process.env });
for (let i = 0; i < jobs; i++) {
  shown.tick(1, 'warm');
  // Every pool VM's agent is polling before the job arrives (the steady state of a warm pool).
  await dispatcher.service.drain();
  startAgents();
  await until(async () => ((await dispatcher.service.routeViews())[0]?.warm?.idle ?? 0) >= 5, 'the pool');
  const { handle, start } = await dispatch('warm');
  await until(() => assignedAt.has(handle), `warm job ${i}`);
  warm.push((assignedAt.get(handle) ?? 0) - start);
}
const cold: number[] = [];
for (let i = 0; i < jobs; i++) {
  shown.tick(1, 'cold');
  const { handle, start } = await dispatch('cold');
  await dispatcher.service.drain();
  cold.push((createdAt.get(handle) ?? 0) - start);
}
shown.done();
stopping = true;
await dispatcher.close();
await forgejo.close();
rmSync(work, { recursive: true, force: true });

function quantiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    +(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2);
  return { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: +(sorted.at(-1) ?? 0).toFixed(2) };
}
const warmQ = quantiles(warm);
const coldQ = quantiles(cold);
const result = {
  benchmark: 'job arrival (POST /v1/dispatch) → runner start, warm pool vs cold create',
  jobs,
  warm: { ...warmQ, what: 'dispatch → the held agent poll answers with the job (measured)' },
  cold: {
    dispatch_to_create: coldQ,
    modeled_boot_ms: bootMs,
    p50_ms: +(coldQ.p50_ms + bootMs).toFixed(2),
    p99_ms: +(coldQ.p99_ms + bootMs).toFixed(2),
    what: 'dispatch → provider create (measured) + VM boot (modeled)',
  },
  target: { warm_overhead_p99_ms: 100 },
  ratio_warm_p99_to_target: +(warmQ.p99_ms / 100).toFixed(2),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/warm-vs-cold.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
