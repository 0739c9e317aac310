/**
 * The local smoke loop behind scripts/smoke-local.sh: the whole system on this machine, each service
 * as its own process started the way systemd starts it.
 *
 *   fake Forgejo (in this process, 127.0.0.1)
 *     ← forgejo-fleet-autoscaler --config autoscaler.yaml   (polls org:acme's queue)
 *     → forgejo-fleet-dispatcher --config dispatcher.yaml   (local shell provider: each "VM" is a
 *                                                            process running the fake forgejo-runner)
 *
 * Secrets are files in a credentials directory passed as $CREDENTIALS_DIRECTORY, the store lives
 * in $STATE_DIRECTORY, as under systemd's LoadCredential= and StateDirectory=. It passes when every
 * routable job succeeded, the unroutable one was left waiting and never dispatched, the HTTP smoke
 * (scripts/runtime-http-smoke.sh) passed against the running dispatcher, no VM, runner registration
 * or live dispatch is left, and both services exited 0 on SIGTERM.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createDispatchApiClient, type Dispatch, describeFailure } from '@forgejo-fleet/dispatch-api';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXIT_USAGE = 64;
/** How often the driver looks at the fake Forgejo and the dispatcher while waiting. */
const POLL_MS = 100;
const SCOPE = 'org:acme';

interface Options {
  readonly jobs: number;
  readonly from: 'source' | 'dist';
  readonly timeoutMs: number;
  readonly keep: boolean;
  readonly httpSmoke: boolean;
}

function usage(): string {
  return `usage: scripts/smoke-local.sh [--jobs N] [--from source|dist] [--timeout SECONDS] [--keep] [--no-http-smoke]

Runs fake Forgejo + forgejo-fleet-dispatcher + forgejo-fleet-autoscaler + the local shell provider on
this machine and exits 0 only when every job ran and nothing was left behind.

  --jobs N          routable jobs to queue (default 4; one unroutable job is always added)
  --from source     run the services from TypeScript sources through tsx (default)
  --from dist       run the built bins (apps/*/dist/main.js; run npm run build first)
  --timeout S       give up after S seconds (default 120)
  --keep            keep the work directory (configs, logs, store) even on success
  --no-http-smoke   skip scripts/runtime-http-smoke.sh against the running dispatcher
`;
}

function parseOptions(argv: string[]): Options | string {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        jobs: { type: 'string', default: '4' },
        from: { type: 'string', default: 'source' },
        timeout: { type: 'string', default: '120' },
        keep: { type: 'boolean', default: false },
        'no-http-smoke': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return (error as Error).message;
  }
  if (values.help) return '';
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 200) return '--jobs takes a whole number from 1 to 200';
  if (values.from !== 'source' && values.from !== 'dist') return '--from takes source or dist';
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 10)
    return '--timeout takes a whole number of seconds, at least 10';
  return {
    jobs,
    from: values.from,
    timeoutMs: timeout * 1000,
    keep: values.keep === true,
    httpSmoke: values['no-http-smoke'] !== true,
  };
}

const started = Date.now();
function say(message: string): void {
  process.stdout.write(`[smoke ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
}

class SmokeFailure extends Error {
  override readonly name = 'SmokeFailure';
}

/** Polls `probe` every POLL_MS until it returns a value, or fails naming `what` at the deadline. */
async function until<T>(
  what: string,
  deadline: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new SmokeFailure(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
  readonly exited: Promise<number | null>;
}

function entryPoint(app: 'dispatcher' | 'autoscaler', from: Options['from']): string[] {
  return from === 'dist'
    ? [join(ROOT, `apps/${app}/dist/main.js`)]
    : // tsx by URL: the service's working directory is its state directory, outside the repo.
      ['--conditions=source', '--import', import.meta.resolve('tsx'), join(ROOT, `apps/${app}/src/main.ts`)];
}

function hasEntryPoint(app: 'dispatcher' | 'autoscaler', from: Options['from']): boolean {
  return existsSync(join(ROOT, from === 'dist' ? `apps/${app}/dist/main.js` : `apps/${app}/src/main.ts`));
}

/** Starts one service as systemd would: its config, $CREDENTIALS_DIRECTORY, $STATE_DIRECTORY, nothing else. */
function startService(
  name: string,
  args: string[],
  env: Record<string, string>,
  log: string,
  onLine?: (line: string) => void,
): Service {
  const child = spawn(process.execPath, args, {
    cwd: env.STATE_DIRECTORY ?? ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(log);
  child.stderr?.pipe(file);
  if (child.stdout) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      file.write(`${line}\n`);
      onLine?.(line);
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
  });
  return { name, child, log, exited };
}

async function stopService(service: Service, graceMs: number): Promise<number | null> {
  if (service.child.exitCode !== null) return service.child.exitCode;
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), graceMs);
  const code = await service.exited;
  clearTimeout(timer);
  return code;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function listInstances(stateDir: string): string[] {
  const dir = join(stateDir, 'instances');
  return existsSync(dir) ? readdirSync(dir) : [];
}

function dispatcherYaml(forgejoUrl: string, work: string): string {
  return `# written by scripts/smoke/local-loop.ts
fleet_id: smoke
listen: { host: 127.0.0.1, port: 0 }
log: { level: info }
store: { path: dispatcher.db }
forgejo:
  api_url: ${forgejoUrl}
  instance_url: ${forgejoUrl}
  token_file: forgejo-token
reconcile: { interval: 1s, orphan_grace: 1m }
providers:
  local:
    kind: shell
    command: [${join(ROOT, 'scripts/providers/local.sh')}]
    timeout: 30s
    max_instances: 100
    env: { FORGEJO_FLEET_LOCAL_STATE: ${join(work, 'vms')}, FAKE_RUNNER_JOB_MS: '300' }
routes:
  - name: linux
    labels: [linux, small]
    providers: [local]
    limits: { max_vms: 20 }
    timeouts: { job: 2m, max_lifetime: 10m }
scopes:
  ${SCOPE}: {}
clients:
  - { name: autoscaler, token_file: dispatcher-token-autoscaler, scopes: ['*'] }
`;
}

/** A free loopback port for the autoscaler's ops listener (its URL is not logged in a fixed form). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function autoscalerYaml(forgejoUrl: string, dispatcherUrl: string, opsPort: number): string {
  return `# written by scripts/smoke/local-loop.ts
log: { level: info }
forgejo: { api_url: ${forgejoUrl} }
dispatcher:
  url: ${dispatcherUrl}
  token_file: dispatcher-token-autoscaler
  routes_refresh: 5s
poll: { interval: 1s, jitter: 0 }
scopes:
  ${SCOPE}:
    token_file: forgejo-token-acme
metrics:
  listen: { host: 127.0.0.1, port: ${opsPort} }
`;
}

async function listDispatches(url: string, token: string): Promise<Dispatch[]> {
  const api = createDispatchApiClient({
    url,
    token,
    timeoutMs: 10_000,
    concurrency: 1,
    retry: { attempts: 1 },
  });
  const page = await api.listDispatches({ limit: 500 });
  if (!page.ok) throw new SmokeFailure(`GET /v1/dispatches: ${describeFailure(page)}`);
  return page.value.items;
}

async function runHttpSmoke(dispatcherUrl: string, tokenFile: string, autoscalerUrl?: string): Promise<void> {
  try {
    const { stdout } = await promisify(execFile)(join(ROOT, 'scripts/runtime-http-smoke.sh'), [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        DISPATCHER_URL: dispatcherUrl,
        DISPATCHER_TOKEN_FILE: tokenFile,
        ...(autoscalerUrl ? { AUTOSCALER_URL: autoscalerUrl } : {}),
      },
      timeout: 60_000,
    });
    for (const line of stdout.trimEnd().split('\n')) say(`  ${line}`);
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new SmokeFailure(`runtime-http-smoke.sh failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (typeof parsed === 'string') {
    if (parsed === '') {
      process.stdout.write(usage());
      return 0;
    }
    process.stderr.write(`smoke-local: ${parsed}\n${usage()}`);
    return EXIT_USAGE;
  }
  const options = parsed;
  for (const app of ['dispatcher', 'autoscaler'] as const) {
    if (!hasEntryPoint(app, options.from)) {
      process.stderr.write(
        options.from === 'dist'
          ? `smoke-local: apps/${app}/dist/main.js is missing: run npm run build, or use --from source\n`
          : `smoke-local: apps/${app}/src/main.ts is missing\n`,
      );
      return EXIT_USAGE;
    }
  }
  const deadline = Date.now() + options.timeoutMs;
  const work = mkdtempSync(join(tmpdir(), 'forgejo-fleet-smoke-'));
  const credentials = join(work, 'credentials');
  const state = join(work, 'state');
  mkdirSync(credentials, { mode: 0o700 });
  mkdirSync(state, { mode: 0o700 });
  const services: Service[] = [];
  let forgejo: RunningFakeForgejo | undefined;
  let passed = false;
  try {
    forgejo = await startFakeForgejo();
    forgejo.addUser({ name: 'ops' });
    forgejo.addOrg({ name: 'acme', owners: ['ops'] });
    forgejo.addRepo({ owner: 'acme', name: 'web' });
    const dispatcherForgejoToken = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
    const autoscalerForgejoToken = forgejo.addToken({ user: 'ops', scopes: ['read:organization'] });
    const clientToken = randomBytes(24).toString('hex');
    const secrets = {
      'forgejo-token': dispatcherForgejoToken,
      'forgejo-token-acme': autoscalerForgejoToken,
      'dispatcher-token-autoscaler': clientToken,
    };
    for (const [name, value] of Object.entries(secrets)) {
      writeFileSync(join(credentials, name), `${value}\n`, { mode: 0o600 });
    }
    writeFileSync(join(work, 'dispatcher.yaml'), dispatcherYaml(forgejo.url, work));
    say(`work directory ${work}; fake Forgejo ${forgejo.url}; services from ${options.from}`);

    let dispatcherUrl: string | undefined;
    const dispatcher = startService(
      'dispatcher',
      [...entryPoint('dispatcher', options.from), '--config', join(work, 'dispatcher.yaml')],
      { CREDENTIALS_DIRECTORY: credentials, STATE_DIRECTORY: state },
      join(work, 'dispatcher.log'),
      (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'dispatcher listening' && entry.url) dispatcherUrl = entry.url;
        } catch {
          // not a log line
        }
      },
    );
    services.push(dispatcher);
    const url = await until('the dispatcher to listen', Math.min(deadline, Date.now() + 60_000), () => {
      if (dispatcher.child.exitCode !== null) {
        throw new SmokeFailure(`the dispatcher exited ${dispatcher.child.exitCode} at start`);
      }
      return dispatcherUrl;
    });
    say(`dispatcher listening on ${url} (pid ${dispatcher.child.pid})`);

    const opsPort = await freePort();
    const autoscalerUrl = `http://127.0.0.1:${opsPort}`;
    writeFileSync(join(work, 'autoscaler.yaml'), autoscalerYaml(forgejo.url, url, opsPort));
    const autoscaler = startService(
      'autoscaler',
      [...entryPoint('autoscaler', options.from), '--config', join(work, 'autoscaler.yaml')],
      { CREDENTIALS_DIRECTORY: credentials, STATE_DIRECTORY: state },
      join(work, 'autoscaler.log'),
    );
    services.push(autoscaler);
    say(`autoscaler started (pid ${autoscaler.child.pid}), ops on ${autoscalerUrl}`);

    const handles: string[] = [];
    for (let i = 0; i < options.jobs; i++) {
      handles.push(
        forgejo.enqueueJob({ repo: 'acme/web', name: `smoke-${i + 1}`, runsOn: ['linux'] }).handle,
      );
    }
    const unroutable = forgejo.enqueueJob({ repo: 'acme/web', name: 'smoke-gpu', runsOn: ['gpu'] }).handle;
    say(`queued ${options.jobs} jobs on [linux] and 1 on [gpu] (no route)`);

    const fake = forgejo;
    await until(`${options.jobs} jobs to succeed`, deadline, async () => {
      for (const service of services) {
        if (service.child.exitCode !== null) {
          throw new SmokeFailure(
            `the ${service.name} exited ${service.child.exitCode} while jobs were running`,
          );
        }
      }
      const jobs = fake.jobs().filter((j) => handles.includes(j.handle));
      const failed = jobs.filter((j) => j.status === 'failure' || j.status === 'cancelled');
      if (failed.length > 0) {
        throw new SmokeFailure(`jobs ended ${failed.map((j) => `${j.name}=${j.status}`).join(', ')}`);
      }
      return jobs.every((j) => j.status === 'success') ? true : undefined;
    });
    say(`all ${options.jobs} jobs succeeded`);

    if (options.httpSmoke) {
      say('runtime-http-smoke.sh against the running dispatcher:');
      await runHttpSmoke(url, join(credentials, 'dispatcher-token-autoscaler'), autoscalerUrl);
    }

    const dispatches = await until('every dispatch to finish and every VM to be gone', deadline, async () => {
      const items = await listDispatches(url, clientToken);
      const done = items.every(
        (d) => d.state === 'finished' || d.state === 'failed' || d.state === 'cancelled',
      );
      return done && listInstances(join(work, 'vms')).length === 0 ? items : undefined;
    });
    const problems: string[] = [];
    const byHandle = new Map(dispatches.map((d) => [d.handle, d]));
    if (dispatches.length !== options.jobs) {
      problems.push(
        `${dispatches.length} dispatches for ${options.jobs} jobs (expected exactly one per job)`,
      );
    }
    for (const handle of handles) {
      const d = byHandle.get(handle);
      if (d?.state !== 'finished')
        problems.push(`job ${handle}: dispatch ${d?.id ?? 'missing'} ${d?.state ?? ''} ${d?.error ?? ''}`);
    }
    if (byHandle.has(unroutable)) problems.push('the [gpu] job was dispatched though no route takes it');
    if (fake.jobs().find((j) => j.handle === unroutable)?.status !== 'waiting') {
      problems.push('the [gpu] job is no longer waiting');
    }
    const runnersLeft = fake.runners().filter((r) => !r.deleted);
    if (runnersLeft.length > 0)
      problems.push(`runner registrations left: ${runnersLeft.map((r) => r.name).join(', ')}`);

    for (const service of [...services].reverse()) {
      const code = await stopService(service, 30_000);
      if (code !== 0) problems.push(`the ${service.name} exited ${code} on SIGTERM (expected 0)`);
      else say(`${service.name} stopped cleanly`);
    }
    const vmsLeft = listInstances(join(work, 'vms'));
    if (vmsLeft.length > 0) problems.push(`local VMs left: ${vmsLeft.join(', ')}`);

    if (problems.length > 0) throw new SmokeFailure(problems.join('\n  '));
    say(
      `passed: ${options.jobs}/${options.jobs} jobs succeeded on ${options.jobs} VMs, 1 unroutable job left waiting, 0 VMs, 0 runner registrations and 0 live dispatches left`,
    );
    passed = true;
  } catch (error) {
    if (!(error instanceof SmokeFailure)) throw error;
    process.stderr.write(`smoke-local: FAILED: ${error.message}\n`);
    for (const service of services) {
      process.stderr.write(`--- last lines of ${service.log}\n${tail(service.log)}\n`);
    }
  } finally {
    for (const service of services) await stopService(service, 5_000);
    await forgejo?.close();
    if (passed && !options.keep) rmSync(work, { recursive: true, force: true });
    else say(`kept ${work}`);
  }
  return passed ? 0 : 1;
}

process.exitCode = await main();
