/**
 * Status page render time at scale: every `/ui` page rendered through the real app (`createApp`,
 * the mount the dispatcher serves) over a SQLite store holding N live dispatches (default 10,000)
 * spread over the live states and two scopes, and D decisions (default 1,000,000, 100 per
 * dispatch). Each page is asked for as a fleet-wide client and as a client of one scope. Target:
 * p95 ≤ 100 ms per page; the script exits 1 when a page misses it.
 *
 *   node --conditions=source --import tsx scripts/bench/ui-pages.ts [dispatches] [decisions]
 *
 * Prints a table and writes bench-results/ui-pages.json. The dispatches are written through the
 * store's insert and transitions; the decisions through its appendDecision, in one transaction
 * (the connection seam), which takes seconds instead of minutes.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import {
  createApp,
  createDispatcherMetrics,
  createDispatchService,
  createLogger,
} from '@forgejo-fleet/dispatcher';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import { DEFAULT_CHOICE, type Provider } from '@forgejo-fleet/providers';
import { progress } from '@forgejo-fleet/runtime';
import { DECISION_KINDS, type DispatchState, openSqliteStore } from '@forgejo-fleet/store';
import type Database from 'better-sqlite3';

const dispatchCount = Number(process.argv[2] ?? 10_000);
const decisionCount = Number(process.argv[3] ?? 1_000_000);
const RUNS = 30;
const TARGET_MS = 100;
const FLEET_TOKEN = 'bench-fleet-token-0123456789';
const ACME_TOKEN = 'bench-acme-token-0123456789';

const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'fleet-ui-bench-'));
const config = parseDispatcherConfig(
  `
fleet_id: bench
forgejo: { api_url: http://127.0.0.1:1, instance_url: http://127.0.0.1:1, token_env: T }
limits: { max_vms: 100000 }
providers:
  cloud: { kind: shell, command: [/bin/false] }
  spare: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud, spare], limits: { max_vms: 100000 } }
  - { name: large, labels: [linux, large], providers: [cloud], limits: { max_vms: 100000 } }
scopes:
  org:acme: {}
  org:beta: {}
clients:
  - { name: fleet, token_env: F, scopes: ['*'] }
  - { name: acme, token_env: A, scopes: [org:acme] }
`,
  { file: 'bench.yaml', env: { T: 'forgejo-token', F: FLEET_TOKEN, A: ACME_TOKEN } },
);

let db: Database.Database | undefined;
const store = openSqliteStore(join(work, 'dispatcher.db'), {
  connection: (connection) => {
    db = connection;
  },
});
// The real metrics: the latency page reads the phase histogram the seeded transitions fill.
const metrics = createDispatcherMetrics(store);
const provider: Provider = {
  name: 'cloud',
  kind: 'memory',
  choices: [DEFAULT_CHOICE],
  create: () => Promise.reject(new Error('not in this benchmark')),
  delete: async () => 'deleted',
  get: async () => undefined,
  list: async () => [],
};
const service = createDispatchService({
  config,
  store,
  clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
  newId: (() => {
    let n = 0;
    return () => `d${String(++n).padStart(8, '0')}`;
  })(),
  log: createLogger('silent'),
  forgejoFor: () => new Proxy({} as ForgejoClient, { get: () => async () => [] }),
  providerFor: () => provider,
});
const app = createApp({
  service,
  clients: config.clients.map((c) => ({ name: c.name, token: c.token.reveal(), scopes: c.scopes })),
  log: createLogger('silent'),
  newRequestId: () => 'bench',
  metricsRegistry: metrics.registry,
});

const PATH: readonly DispatchState[] = ['registering', 'provisioning', 'booting', 'running'];
const start = Date.now() - dispatchCount * 1000;
const ids: string[] = [];
const seeding = progress(`ui-pages: seeding ${dispatchCount} live dispatches`, dispatchCount, {
  stream: process.stderr,
  env: process.env,
});
for (let i = 0; i < dispatchCount; i++) {
  const at = start + i * 1000;
  const { record } = await store.insert({
    id: `d${String(i).padStart(8, '0')}`,
    handle: `h-${i}`,
    scope: i % 2 === 0 ? 'org:acme' : 'org:beta',
    labels: ['linux'],
    route: i % 3 === 0 ? 'large' : 'small',
    client: 'fleet',
    job: { handle: `h-${i}`, id: i, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
    at,
  });
  let from: DispatchState = 'accepted';
  for (const to of PATH.slice(0, i % (PATH.length + 1))) {
    const moved = await store.transition(
      record.id,
      [from],
      to,
      at + 10,
      to === 'provisioning' ? { provider: i % 4 === 0 ? 'spare' : 'cloud' } : {},
    );
    if (moved) metrics.observer.transition(moved, from, 10 + (i % 97) * 100);
    from = to;
  }
  ids.push(record.id);
  seeding.tick();
}
seeding.done();

const seedStarted = performance.now();
const decisions = progress(`ui-pages: seeding ${decisionCount} decisions (one transaction)`, undefined, {
  stream: process.stderr,
  env: process.env,
});
db?.transaction(() => {
  for (let i = 0; i < decisionCount; i++) {
    const id = ids[i % ids.length] ?? null;
    // appendDecision runs its statement synchronously: inside this transaction, one commit for all.
    void store.appendDecision({
      at: start + i,
      kind: DECISION_KINDS[i % DECISION_KINDS.length] ?? 'create',
      reason: `bench decision ${i}`,
      dispatch_id: id,
      route: 'small',
      scope: i % 2 === 0 ? 'org:acme' : 'org:beta',
      provider: 'cloud',
    });
  }
})();
decisions.done(`${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

async function signIn(token: string): Promise<string> {
  const res = await app.request('/ui/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  const cookie = /ff_ui_session=[^;]*/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  if (!cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie;
}

const acmeDispatch = ids[0] ?? '';
const PAGES = [
  '/ui',
  '/ui/dispatches',
  '/ui/dispatches?state=running&limit=500',
  '/ui/dispatches?route=large&limit=100',
  `/ui/dispatches/${acmeDispatch}`,
  '/ui/decisions',
  `/ui/decisions?after=${decisionCount - 150}&limit=200`,
  '/ui/latency',
];
const results: { client: string; page: string; p50: number; p95: number; max: number; bytes: number }[] = [];
for (const [client, token] of [
  ['fleet', FLEET_TOKEN],
  ['acme', ACME_TOKEN],
] as const) {
  const cookie = await signIn(token);
  for (const page of PAGES) {
    const times: number[] = [];
    let bytes = 0;
    for (let run = 0; run < RUNS + 3; run++) {
      const t0 = performance.now();
      const res = await app.request(page, { headers: { cookie } });
      const text = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${page} as ${client}: ${res.status}`);
      bytes = text.length;
      if (run >= 3) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) =>
      Number((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1));
    results.push({ client, page, p50: at(0.5), p95: at(0.95), max: at(1), bytes });
  }
}

console.log(
  `ui-pages: ${dispatchCount} live dispatches, ${decisionCount} decisions, ${RUNS} runs per page, ${cpus().length} CPUs`,
);
console.log('client  p50 ms  p95 ms  max ms  KiB   page');
for (const r of results) {
  console.log(
    `${r.client.padEnd(6)} ${String(r.p50).padStart(7)} ${String(r.p95).padStart(7)} ${String(r.max).padStart(7)} ${String(Math.round(r.bytes / 1024)).padStart(5)}   ${r.page}`,
  );
}
const over = results.filter((r) => r.p95 > TARGET_MS);
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/ui-pages.json',
  `${JSON.stringify({ dispatches: dispatchCount, decisions: decisionCount, runs: RUNS, target_ms: TARGET_MS, results }, null, 2)}\n`,
);
await service.drain();
await store.close();
rmSync(work, { recursive: true, force: true });
if (over.length > 0) {
  console.error(
    `ui-pages: over ${TARGET_MS} ms at p95: ${over.map((r) => `${r.page} (${r.client})`).join(', ')}`,
  );
  process.exitCode = 1;
} else {
  console.log(`ui-pages: every page p95 ≤ ${TARGET_MS} ms`);
}
