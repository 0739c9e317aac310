/**
 * The demo loop on its embedded default: a simulated Forgejo on 127.0.0.1, an embedded config
 * with a local route, and jobs flowing through the real config loader, Forgejo client and
 * user-data renderer to fake `forgejo-runner one-job --handle --wait` processes.
 *
 * The dispatcher and autoscaler services take this loop over as they land; until then this
 * script drives the same protocol steps they will: poll → route → register ephemeral runner →
 * render user-data → start the runner for exactly that handle → clean up the registration.
 *
 * Run: npm run demo   (exits 0 only when every routable job ran and nothing was left behind)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapFromConfig, renderUserData } from '@forgejo-fleet/cloud-init';
import { parseDispatcherConfig, selectRoute } from '@forgejo-fleet/config';
import { createForgejoClient, parseScope, type RunJob } from '@forgejo-fleet/forgejo';
import { fakeRunnerEntry, startFakeForgejo } from '@forgejo-fleet/testkit';

const EMBEDDED_CONFIG = `
fleet_id: demo
forgejo:
  api_url: http://127.0.0.1:1        # replaced with the simulated Forgejo's address
  instance_url: http://127.0.0.1:1
  token_env: DEMO_FORGEJO_TOKEN
providers:
  local:
    kind: shell
    command: [fake-forgejo-runner]
routes:
  - name: linux-small
    labels: [linux, small]
    providers: [local]
  - name: linux-large
    labels: [linux, large, docker]
    providers: [local]
scopes:
  org:acme: {}
clients:
  - name: demo
    token_env: DEMO_CLIENT_TOKEN
    scopes: ['*']
`;

const JOBS: { repo: string; name: string; runsOn: string[] }[] = [
  { repo: 'acme/web', name: 'lint', runsOn: ['linux'] },
  { repo: 'acme/web', name: 'test', runsOn: ['linux', 'small'] },
  { repo: 'acme/api', name: 'build', runsOn: ['linux', 'large'] },
  { repo: 'acme/api', name: 'integration', runsOn: ['docker', 'linux'] },
  { repo: 'acme/web', name: 'gpu-train', runsOn: ['gpu'] },
  { repo: 'acme/api', name: 'release', runsOn: ['small'] },
];

const started = Date.now();
function log(message: string): void {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s] ${message}\n`);
}

async function main(): Promise<number> {
  const forgejo = await startFakeForgejo();
  const work = mkdtempSync(join(tmpdir(), 'forgejo-fleet-demo-'));
  try {
    forgejo.addUser({ name: 'ops' });
    forgejo.addOrg({ name: 'acme', owners: ['ops'] });
    forgejo.addRepo({ owner: 'acme', name: 'web' });
    forgejo.addRepo({ owner: 'acme', name: 'api' });
    const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

    const config = parseDispatcherConfig(EMBEDDED_CONFIG.replaceAll('http://127.0.0.1:1', forgejo.url), {
      file: '<embedded demo config>',
      env: { DEMO_FORGEJO_TOKEN: token, DEMO_CLIENT_TOKEN: 'demo-client-token' },
    });
    log(
      `simulated Forgejo at ${forgejo.url}; routes: ${config.routes.map((r) => `${r.name} [${r.labels}]`).join(', ')}`,
    );

    const scope = parseScope('org:acme');
    const client = createForgejoClient({ apiUrl: config.forgejo.api_url, token });
    for (const job of JOBS) {
      const queued = forgejo.enqueueJob({ repo: job.repo, name: job.name, runsOn: job.runsOn });
      log(`queued   ${job.repo} ${job.name} runs-on [${job.runsOn}] handle ${queued.handle.slice(0, 8)}`);
    }

    const dispatched = new Map<string, Promise<void>>();
    const unroutable = new Set<string>();
    const expected = JOBS.filter((j) => selectRoute(config.routes, j.runsOn)).length;
    for (let tick = 0; dispatched.size < expected && tick < 50; tick++) {
      const waiting = (await client.listJobs(scope)).filter((j) => j.status === 'waiting');
      for (const job of waiting) {
        if (dispatched.has(job.handle) || unroutable.has(job.handle)) continue;
        const route = selectRoute(config.routes, job.runs_on);
        if (!route) {
          unroutable.add(job.handle);
          log(`waiting  ${job.name} [${job.runs_on}]: no route has every label, so nothing is started`);
          continue;
        }
        dispatched.set(job.handle, runOneJob(job, route.name));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.all(dispatched.values());

    const leftovers = await client.listRunners(scope);
    const ran = forgejo.jobs().filter((j) => j.status === 'success').length;
    log(
      `done: ${ran}/${expected} routable jobs ran, ${unroutable.size} left waiting, ${leftovers.length} runner registrations left`,
    );
    return ran === expected && leftovers.length === 0 ? 0 : 1;

    async function runOneJob(job: RunJob, routeName: string): Promise<void> {
      const route = config.routes.find((r) => r.name === routeName);
      if (!route) return;
      const name = `${config.fleet_id}-${job.handle.slice(0, 8)}`;
      const runner = await client.registerRunner(scope, { name, ephemeral: true });
      const userData = renderUserData(
        bootstrapFromConfig({ config, route, runner: { ...runner, name }, handle: job.handle }),
      );
      log(
        `dispatch ${job.name} → route ${route.name}, runner ${name} (#${runner.id}), user-data ${userData.length} bytes`,
      );
      const tokenFile = join(work, `${name}.token`);
      writeFileSync(tokenFile, runner.token, { mode: 0o600 });
      const code = await startRunner([
        'one-job',
        '--url',
        config.forgejo.instance_url,
        '--uuid',
        runner.uuid,
        '--token-url',
        `file://${tokenFile}`,
        ...route.runner_labels.flatMap((label) => ['--label', label]),
        '--handle',
        job.handle,
        '--wait',
      ]);
      rmSync(tokenFile, { force: true });
      const cleanup = await client.deleteRunner(scope, runner.id);
      const status = forgejo.jobs().find((j) => j.handle === job.handle)?.status;
      log(
        `finished ${job.name}: runner exit ${code}, job ${status}, registration ${cleanup === 'not-found' ? 'already gone (ephemeral)' : 'deleted'}`,
      );
    }
  } finally {
    await forgejo.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function startRunner(args: string[]): Promise<number | null> {
  const entry = fakeRunnerEntry();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry.nodeArgs, entry.path, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, FAKE_RUNNER_JOB_MS: '400' },
      timeout: 30_000,
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

process.exitCode = await main();
