/**
 * Detection lag: time from a job entering Forgejo's queue to the dispatcher receiving its
 * `POST /v1/dispatch`, through the real autoscaler, against the fake Forgejo and a recording
 * stand-in for the dispatcher, both on 127.0.0.1. Two modes with the default poll settings
 * (interval 5 s, jitter 0.2):
 *   - webhooks: the autoscaler manages its org hook; each job is followed by the push that queued it;
 *   - polling:  no webhook section; only the poll loop finds jobs.
 * Jobs arrive one at a time at random gaps, so they land at random points of the poll cycle.
 *
 *   node --conditions=source --import tsx scripts/bench/detection-lag.ts [--jobs N] [--interval 5s]
 *
 * Prints p50/p90/p99/max per mode and writes bench-results/detection-lag.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger, startAutoscaler } from '@forgejo-fleet/autoscaler';
import { parseAutoscalerConfig } from '@forgejo-fleet/config';
import { DispatchRequest } from '@forgejo-fleet/dispatch-api';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '60' }, interval: { type: 'string', default: '5s' } },
  strict: true,
});
const jobCount = Number(values.jobs);
if (!(Number.isInteger(jobCount) && jobCount > 0 && jobCount <= 1000)) {
  process.stderr.write('detection-lag: --jobs takes a whole number from 1 to 1000\n');
  process.exit(64);
}
const interval = values.interval;
/** Mean gap between two jobs; random in [0, 2 × this], so arrivals are spread over the poll cycle. */
const MEAN_GAP_MS = 300;

interface Stats {
  jobs: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round(sorted[rank] ?? Number.NaN);
}

function stats(lags: readonly number[]): Stats {
  const sorted = [...lags].sort((a, b) => a - b);
  return {
    jobs: sorted.length,
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    max_ms: Math.round(sorted.at(-1) ?? Number.NaN),
    mean_ms: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function measure(mode: 'webhooks' | 'polling'): Promise<Stats> {
  const forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

  // The dispatcher stand-in: records when each handle's first request arrives, answers 202.
  const received = new Map<string, number>();
  const app = new Hono();
  app.get('/v1/routes', (c) => c.json({ routes: [{ name: 'small', labels: ['linux'] }] }));
  app.post('/v1/reconcile', (c) => c.json({}, 202));
  app.post('/v1/dispatch', async (c) => {
    const at = performance.now();
    // Checked like the dispatcher checks it: the autoscaler must send the contract's body.
    const handle = DispatchRequest.parse(await c.req.json()).job?.handle;
    if (handle === undefined) throw new Error('dispatch without a job handle');
    if (!received.has(handle)) received.set(handle, at);
    return c.json({ id: `d-${received.size}`, route: 'small' }, 202);
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  const dispatcherUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const webhookPort = await freePort();
  const webhook =
    mode === 'webhooks'
      ? `
webhook:
  listen: { host: 127.0.0.1, port: ${webhookPort} }
  public_url: http://127.0.0.1:${webhookPort}/hook
  secret_env: SECRET
`
      : '';
  const autoscaler = await startAutoscaler({
    config: parseAutoscalerConfig(
      `
forgejo: { api_url: ${forgejo.url} }
dispatcher: { url: ${dispatcherUrl}, token_env: CLIENT }
poll: { interval: ${interval} }
${webhook}
scopes:
  org:acme: { token_env: TOKEN, webhook: { manage: ${mode === 'webhooks'} } }
`,
      { file: `<detection-lag ${mode}>`, env: { TOKEN: token, CLIENT: 'client', SECRET: 'bench-secret' } },
    ),
    log: createLogger('warn'),
  });
  await autoscaler.ensureHooks();

  const enqueued = new Map<string, number>();
  for (let i = 0; i < jobCount; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * MEAN_GAP_MS));
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: `job-${i}`, runsOn: ['linux'] });
    enqueued.set(job.handle, performance.now());
    if (mode === 'webhooks') void forgejo.emitPush('acme/web');
  }
  const deadline = Date.now() + 60_000;
  while (received.size < jobCount && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await autoscaler.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await forgejo.close();
  if (received.size < jobCount) throw new Error(`${mode}: only ${received.size}/${jobCount} jobs dispatched`);
  return stats([...enqueued].map(([handle, at]) => (received.get(handle) ?? Number.NaN) - at));
}

const webhooks = await measure('webhooks');
const polling = await measure('polling');
const line = (name: string, s: Stats) =>
  `${name.padEnd(9)} p50 ${String(s.p50_ms).padStart(5)} ms  p90 ${String(s.p90_ms).padStart(5)} ms  p99 ${String(s.p99_ms).padStart(5)} ms  max ${String(s.max_ms).padStart(5)} ms  (${s.jobs} jobs)`;
process.stdout.write(
  `detection lag (job enqueued → dispatch request received), poll interval ${interval}, jitter 0.2\n`,
);
process.stdout.write(`${line('webhooks', webhooks)}\n${line('polling', polling)}\n`);
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/detection-lag.json',
  `${JSON.stringify(
    {
      benchmark: 'detection-lag',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      poll: { interval, jitter: 0.2 },
      mean_gap_ms: MEAN_GAP_MS,
      webhooks,
      polling,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write('wrote bench-results/detection-lag.json\n');
