/**
 * The demo loop on its embedded default: a simulated Forgejo on 127.0.0.1, the real autoscaler
 * (polling org:acme, receiving the webhooks it registered itself) in front of the real dispatcher
 * with the local provider (scripts/providers/local.sh: each "VM" is a background process running
 * the fake forgejo-runner from the rendered user-data). This script only queues jobs, sends one
 * push webhook and narrates what the autoscaler and the dispatcher do.
 *
 *   npm run demo                 # 6 jobs, one of them unroutable; exits when the rest are done
 *   npm run demo -- --jobs N     # N routable jobs; exits 0 once all N finished and nothing is left
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger as autoscalerLogger, startAutoscaler } from '@forgejo-fleet/autoscaler';
import { parseAutoscalerConfig, parseDispatcherConfig, selectRoute } from '@forgejo-fleet/config';
import { createDispatchApiClient, describeFailure } from '@forgejo-fleet/dispatch-api';
import { createLogger, startDispatcher } from '@forgejo-fleet/dispatcher';
import { startFakeForgejo } from '@forgejo-fleet/testkit';

const root = fileURLToPath(new URL('../', import.meta.url));
const USAGE = 'usage: npm run demo [-- --jobs N]   (N from 1 to 500; without it: 6 sample jobs)';
const { values } = parseDemoArgs();
const jobCount = values.jobs === undefined ? undefined : Number(values.jobs);
if (jobCount !== undefined && !(Number.isInteger(jobCount) && jobCount > 0 && jobCount <= 500)) {
  process.stderr.write(`demo: --jobs takes a whole number from 1 to 500\n${USAGE}\n`);
  process.exit(64);
}

/** The command line, or exit 64 with the reason and the usage (a typo is not a crash). */
function parseDemoArgs() {
  try {
    return parseArgs({ options: { jobs: { type: 'string' } }, strict: true });
  } catch (error) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(64);
  }
}

const SAMPLE_JOBS = [
  { repo: 'acme/web', name: 'lint', runsOn: ['linux'] },
  { repo: 'acme/web', name: 'test', runsOn: ['linux', 'small'] },
  { repo: 'acme/api', name: 'build', runsOn: ['linux', 'large'] },
  { repo: 'acme/api', name: 'integration', runsOn: ['docker', 'linux'] },
  { repo: 'acme/web', name: 'gpu-train', runsOn: ['gpu'] },
  { repo: 'acme/api', name: 'release', runsOn: ['small'] },
];
const jobs =
  jobCount === undefined
    ? SAMPLE_JOBS
    : Array.from({ length: jobCount }, (_, i) => ({
        repo: i % 2 ? 'acme/api' : 'acme/web',
        name: `job-${i + 1}`,
        runsOn: i % 3 ? ['linux'] : ['linux', 'large'],
      }));

const started = Date.now();
function say(message: string): void {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s] ${message}\n`);
}

const work = mkdtempSync(join(tmpdir(), 'forgejo-fleet-demo-'));
const forgejo = await startFakeForgejo();
forgejo.addUser({ name: 'ops' });
forgejo.addOrg({ name: 'acme', owners: ['ops'] });
forgejo.addRepo({ owner: 'acme', name: 'web' });
forgejo.addRepo({ owner: 'acme', name: 'api' });
const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

const config = parseDispatcherConfig(
  `
fleet_id: demo
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'dispatcher.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: DEMO_FORGEJO_TOKEN }
providers:
  local:
    kind: shell
    command: [${join(root, 'scripts/providers/local.sh')}]
    timeout: 30s
    max_instances: 100
    env: { FORGEJO_FLEET_LOCAL_STATE: ${join(work, 'vms')}, FAKE_RUNNER_JOB_MS: '800' }
routes:
  - { name: linux-small, labels: [linux, small], providers: [local], limits: { max_vms: 50 } }
  - { name: linux-large, labels: [linux, large, docker], providers: [local], limits: { max_vms: 50 } }
scopes:
  org:acme: {}
clients:
  - { name: autoscaler, token_env: DEMO_CLIENT_TOKEN, scopes: ['*'] }
  - { name: demo-narrator, token_env: DEMO_NARRATOR_TOKEN, scopes: ['*'] }
`,
  {
    file: '<embedded demo config>',
    env: {
      DEMO_FORGEJO_TOKEN: token,
      DEMO_CLIENT_TOKEN: 'demo-client-token',
      DEMO_NARRATOR_TOKEN: 'demo-narrator-token',
    },
  },
);
const dispatcher = await startDispatcher({ config, log: createLogger('warn'), reconcileIntervalMs: 200 });
say(`simulated Forgejo ${forgejo.url}, dispatcher ${dispatcher.url}`);
say(`routes: ${config.routes.map((r) => `${r.name} [${r.labels.join(', ')}]`).join('; ')}`);

// The autoscaler: one scope, its own webhook (it creates the hook in Forgejo itself), fast polling.
const webhookPort = await freePort();
const dispatched = new Map<string, string>();
const unroutable = new Set<string>();
const queued = new Map<string, { name: string; at: number }>();
const autoscaler = await startAutoscaler({
  config: parseAutoscalerConfig(
    `
forgejo: { api_url: ${forgejo.url} }
dispatcher: { url: ${dispatcher.url}, token_env: DEMO_CLIENT_TOKEN, routes_refresh: 10s }
poll: { interval: 2s, jitter: 0.2, fast_interval: 500ms, fast_window: 10s }
webhook:
  listen: { host: 127.0.0.1, port: ${webhookPort} }
  public_url: http://127.0.0.1:${webhookPort}/forgejo-webhook
  secret_env: DEMO_WEBHOOK_SECRET
scopes:
  org:acme: { token_env: DEMO_FORGEJO_TOKEN, webhook: { manage: true } }
`,
    {
      file: '<embedded demo autoscaler config>',
      env: {
        DEMO_FORGEJO_TOKEN: token,
        DEMO_CLIENT_TOKEN: 'demo-client-token',
        DEMO_WEBHOOK_SECRET: 'demo-webhook-secret',
      },
    },
  ),
  log: autoscalerLogger('warn'),
  onEvent(event) {
    const name = (queued.get(event.handle)?.name ?? event.name).padEnd(12);
    if (event.type === 'dispatched' && !dispatched.has(event.handle)) {
      dispatched.set(event.handle, event.dispatchId);
      say(`dispatched  ${name} → ${event.dispatchId} on route ${event.route} for ${event.scope}`);
    } else if (event.type === 'skipped' && event.reason === 'no_route' && !unroutable.has(event.handle)) {
      unroutable.add(event.handle);
      say(`no route    ${name} ${event.detail}: it keeps waiting`);
    }
  },
});
await autoscaler.ensureHooks();
say(`autoscaler polling org:acme; webhook ${autoscaler.webhookUrl} registered in Forgejo`);

for (const job of jobs) {
  const q = forgejo.enqueueJob(job);
  queued.set(q.handle, { name: job.name, at: Date.now() });
  say(`queued      ${job.name.padEnd(12)} runs-on [${job.runsOn.join(', ')}]`);
}
// What Forgejo would send on the push that queued these runs: the autoscaler polls at once.
await Promise.all([forgejo.emitPush('acme/web'), forgejo.emitPush('acme/api')]);
say('push webhooks delivered');

const lastState = new Map<string, string>();
const routable = jobs.filter((j) => selectRoute(config.routes, j.runsOn)).length;
let exitCode = 1;
const deadline = Date.now() + 120_000;
const api = createDispatchApiClient({
  url: dispatcher.url,
  token: 'demo-narrator-token',
  timeoutMs: 5_000,
  concurrency: 4,
});
while (Date.now() < deadline) {
  let finished = 0;
  for (const [handle, id] of dispatched) {
    const answer = await api.getDispatch(id);
    if (!answer.ok) throw new Error(`GET /v1/dispatches/${id}: ${describeFailure(answer)}`);
    const d = answer.value;
    if (lastState.get(id) !== d.state) {
      lastState.set(id, d.state);
      const since = ((Date.now() - (queued.get(handle)?.at ?? started)) / 1000).toFixed(1);
      say(
        `${d.state.padEnd(11)} ${(queued.get(handle)?.name ?? '').padEnd(12)} ${since}s after queueing${d.error ? `: ${d.error}` : ''}`,
      );
    }
    if (d.state === 'finished' || d.state === 'failed' || d.state === 'cancelled') finished++;
  }
  if (finished === routable) {
    const succeeded = forgejo.jobs().filter((j) => j.status === 'success').length;
    const leftRunners = forgejo.runners().filter((r) => !r.deleted).length;
    const leftVms = readdirSync(join(work, 'vms', 'instances')).length;
    say(
      `summary: ${succeeded}/${routable} jobs succeeded, ${unroutable.size} unroutable left waiting, ${leftVms} VMs and ${leftRunners} runner registrations left`,
    );
    exitCode = succeeded === routable && leftVms === 0 && leftRunners === 0 ? 0 : 1;
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}

if (exitCode !== 0 && Date.now() >= deadline) say('timed out');
await autoscaler.close();
await dispatcher.close();
await forgejo.close();
rmSync(work, { recursive: true, force: true });
process.exitCode = exitCode;

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
