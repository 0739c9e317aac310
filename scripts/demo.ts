/**
 * The demo loop on its embedded default: a simulated Forgejo on 127.0.0.1, the real dispatcher
 * with the local provider (scripts/providers/local.sh: each "VM" is a background process running
 * the fake forgejo-runner from the rendered user-data), and a small driver that polls the queue
 * and dispatches every waiting job, the autoscaler's job until it exists.
 *
 *   npm run demo                 # 6 jobs, one of them unroutable; exits when the rest are done
 *   npm run demo -- --jobs N     # N routable jobs; exits 0 once all N finished and nothing is left
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDispatcherConfig, selectRoute } from '@forgejo-fleet/config';
import { createLogger, startDispatcher } from '@forgejo-fleet/dispatcher';
import { createForgejoClient, parseScope } from '@forgejo-fleet/forgejo';
import { startFakeForgejo } from '@forgejo-fleet/testkit';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({ options: { jobs: { type: 'string' } }, strict: true });
const jobCount = values.jobs === undefined ? undefined : Number(values.jobs);
if (jobCount !== undefined && !(Number.isInteger(jobCount) && jobCount > 0 && jobCount <= 500)) {
  process.stderr.write('demo: --jobs takes a whole number from 1 to 500\n');
  process.exit(64);
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
store: { path: ${join(work, 'dispatcher.db')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: DEMO_FORGEJO_TOKEN }
providers:
  local:
    kind: shell
    command: [${join(root, 'scripts/providers/local.sh')}]
    timeout: 30s
    env: { FORGEJO_FLEET_LOCAL_STATE: ${join(work, 'vms')}, FAKE_RUNNER_JOB_MS: '800' }
routes:
  - { name: linux-small, labels: [linux, small], providers: [local], limits: { max_vms: 50 } }
  - { name: linux-large, labels: [linux, large, docker], providers: [local], limits: { max_vms: 50 } }
scopes:
  org:acme: {}
clients:
  - { name: demo-driver, token_env: DEMO_CLIENT_TOKEN, scopes: ['*'] }
`,
  {
    file: '<embedded demo config>',
    env: { DEMO_FORGEJO_TOKEN: token, DEMO_CLIENT_TOKEN: 'demo-client-token' },
  },
);
const dispatcher = await startDispatcher({ config, log: createLogger('warn'), reconcileIntervalMs: 200 });
say(`simulated Forgejo ${forgejo.url}, dispatcher ${dispatcher.url}`);
say(`routes: ${config.routes.map((r) => `${r.name} [${r.labels.join(', ')}]`).join('; ')}`);

const queued = new Map<string, { name: string; at: number }>();
for (const job of jobs) {
  const q = forgejo.enqueueJob(job);
  queued.set(q.handle, { name: job.name, at: Date.now() });
  say(`queued      ${job.name.padEnd(12)} runs-on [${job.runsOn.join(', ')}]`);
}

// The driver: what the autoscaler will do, one queue poll per tick.
const scope = parseScope('org:acme');
const client = createForgejoClient({ apiUrl: forgejo.url, token });
const dispatched = new Map<string, string>();
const lastState = new Map<string, string>();
const unroutable = new Set<string>();
const routable = jobs.filter((j) => selectRoute(config.routes, j.runsOn)).length;
let exitCode = 1;
const deadline = Date.now() + 120_000;
while (Date.now() < deadline) {
  for (const job of (await client.listJobs(scope)).filter((j) => j.status === 'waiting')) {
    if (dispatched.has(job.handle) || unroutable.has(job.handle)) continue;
    const res = await fetch(`${dispatcher.url}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-client-token', 'content-type': 'application/json' },
      body: JSON.stringify({
        scope: 'org:acme',
        labels: job.runs_on,
        job: {
          handle: job.handle,
          id: job.id,
          attempt: job.attempt,
          repo_id: job.repo_id,
          owner_id: job.owner_id,
          name: job.name,
        },
      }),
    });
    const body = (await res.json()) as { id?: string; route?: string; error?: { message: string } };
    if (res.status === 422) {
      unroutable.add(job.handle);
      say(`no route    ${job.name.padEnd(12)} ${body.error?.message}: it keeps waiting`);
    } else if (body.id) {
      dispatched.set(job.handle, body.id);
      say(`dispatched  ${job.name.padEnd(12)} → ${body.id} on route ${body.route}`);
    }
  }
  let finished = 0;
  for (const [handle, id] of dispatched) {
    const res = await fetch(`${dispatcher.url}/v1/dispatches/${id}`, {
      headers: { authorization: 'Bearer demo-client-token' },
    });
    const d = (await res.json()) as { state: string; error: string | null };
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
await dispatcher.close();
await forgejo.close();
rmSync(work, { recursive: true, force: true });
process.exitCode = exitCode;
