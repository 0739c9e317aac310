/**
 * Autoscaler memory with N live dispatches (default 10,000): one scope whose queue holds N waiting
 * jobs (a stub Forgejo client answering from memory) and a stub dispatcher answering 202, so the
 * autoscaler has sent and remembers N handles. Reports RSS and heap after a GC, next to the same
 * process with 0 jobs (the baseline: node, tsx and the loaded modules).
 *
 *   node --expose-gc --conditions=source --import tsx scripts/bench/autoscaler-rss.ts [count]
 *
 * Writes bench-results/autoscaler-rss-<N>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createLogger, startAutoscaler } from '@forgejo-fleet/autoscaler';
import { parseAutoscalerConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';

const count = Number(process.argv[2] ?? 10_000);
const jobs = Array.from({ length: count }, (_, i) => ({
  id: i + 1,
  handle: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  attempt: 1,
  repo_id: 1,
  owner_id: 1,
  name: `job-${i}`,
  needs: [],
  runs_on: ['linux'],
  task_id: 0,
  status: 'waiting',
}));
let dispatched = 0;
const forgejo = new Proxy({} as ForgejoClient, {
  get(_target, name) {
    if (name === 'listJobs') return async () => jobs;
    if (name === 'getOrg') return async () => ({ id: 1, name: 'acme', username: 'acme' });
    return async () => [];
  },
});
const fetchStub: typeof fetch = async (input, init) => {
  const url = String(input);
  if (url.endsWith('/v1/routes')) return Response.json({ routes: [{ name: 'small', labels: ['linux'] }] });
  if (url.endsWith('/v1/dispatch') && init?.method === 'POST') {
    dispatched++;
    return Response.json({ id: `d${String(dispatched).padStart(12, '0')}`, route: 'small' }, { status: 202 });
  }
  return Response.json({}, { status: 202 });
};
const autoscaler = await startAutoscaler({
  config: parseAutoscalerConfig(
    `
forgejo: { api_url: http://127.0.0.1:1 }
dispatcher: { url: http://127.0.0.1:2, token_env: C }
poll: { interval: 1h }
scopes:
  org:acme: { token_env: T }
`,
    { file: 'rss.yaml', env: { T: 'forgejo-token', C: 'client-token' } },
  ),
  log: createLogger('silent'),
  forgejoFor: () => forgejo,
  fetch: fetchStub,
  dispatchConcurrency: 64,
});
const deadline = Date.now() + 120_000;
while (dispatched < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
await autoscaler.settle();
globalThis.gc?.();
const memory = process.memoryUsage();
await autoscaler.close();
const result = {
  benchmark: 'autoscaler memory with N dispatched, remembered handles',
  live_dispatches: count,
  dispatched,
  rss_mb: Math.round(memory.rss / 1_048_576),
  heap_used_mb: Math.round(memory.heapUsed / 1_048_576),
  target: { rss_mb: 150 },
  rss_ratio: +(memory.rss / 1_048_576 / 150).toFixed(2),
  gc: typeof globalThis.gc === 'function',
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(`bench-results/autoscaler-rss-${count}.json`, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
