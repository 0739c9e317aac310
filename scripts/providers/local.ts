/**
 * The demo's "local VM" provider: the forgejo-fleet shell provider protocol (forgejo-fleet.shell/v1,
 * see docs/shell-provider.md) implemented with background processes instead of VMs.
 *
 *   node --conditions=source --import tsx scripts/providers/local.ts create|delete|get|list < request.json
 *   scripts/providers/local.sh create|delete|get|list < request.json
 *
 * `create` "boots a VM": a detached supervisor process that does what cloud-init would do with the
 * rendered `#cloud-config`. It writes the runner token from the 0600 `write_files` entry into the
 * instance's state directory (0600), then runs the fake forgejo-runner (testkit) with the `one-job` flags
 * of the bootstrap script's `run_runner()` (`--token-url` pointing at that file) under the job timeout.
 * When the runner exits the instance becomes `stopped`: the VM powered off.
 *
 * State: $FORGEJO_FLEET_LOCAL_STATE (default $TMPDIR/forgejo-fleet-local)
 *   instances/<id>/instance.json   the instance (never the user-data: it holds the token)
 *   instances/<id>/pid             the supervisor's pid (its process group is the "VM")
 *   instances/<id>/runner-token    0600, deleted when the runner exits
 *   instances/<id>/boot.json       the runner argv and job timeout
 *   instances/<id>/console.log     the supervisor's and the runner's output
 *   keys/<sha256(idempotencyKey)>/id   the idempotency lock: mkdir is atomic, so one create wins
 * Every file is written to a temporary name and renamed into place.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TOKEN_PATH } from '@forgejo-fleet/cloud-init';
import { processRunning } from '@forgejo-fleet/runtime';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const API_VERSION = 'forgejo-fleet.shell/v1';
/** Exit codes of the protocol (packages/providers/src/shell/protocol.ts). */
const EXIT = { ok: 0, usage: 2, notFound: 3, alreadyExists: 4, transient: 13 } as const;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(import.meta.url);
/** How long a second create with the same key waits for the first to finish. */
const LOCK_WAIT_MS = 10_000;
/** A key lock without an instance id this old was left by a crashed create. */
const STALE_LOCK_MS = 30_000;
/** SIGTERM → SIGKILL, for delete and for the runner's job timeout (the bootstrap's --kill-after). */
const KILL_GRACE_MS = 5_000;
const RUNNER_KILL_AFTER_MS = 30_000;
const POLL_MS = 50;

const STATES = ['pending', 'running', 'stopping', 'stopped', 'terminated', 'unknown'] as const;
type State = (typeof STATES)[number];

const Tags = z.record(z.string(), z.string());
const CreateInput = z.object({
  apiVersion: z.literal(API_VERSION),
  spec: z.object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a hostname'),
    idempotencyKey: z.string().min(1),
    userData: z.string(),
    tags: Tags,
  }),
});
const IdInput = z.object({
  apiVersion: z.literal(API_VERSION),
  id: z.string().regex(/^local-[0-9a-f]{12}$/),
});
const ListInput = z.object({ apiVersion: z.literal(API_VERSION), tags: Tags });

const InstanceRecord = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(STATES),
  tags: Tags,
  createdAt: z.number(),
  machine: z.string(),
  idempotencyKey: z.string(),
  pid: z.number().int().optional(),
  exitCode: z.number().int().nullable().optional(),
});
type InstanceRecord = z.infer<typeof InstanceRecord>;

const BootPlan = z.object({ argv: z.array(z.string()), timeoutSeconds: z.number().positive() });
type BootPlan = z.infer<typeof BootPlan>;

interface Answer {
  readonly code: number;
  readonly out?: Record<string, unknown>;
  readonly error?: string;
}

function stateDir(): string {
  const configured = process.env.FORGEJO_FLEET_LOCAL_STATE;
  if (configured !== undefined && configured !== '') return configured;
  return join(process.env.TMPDIR || tmpdir(), 'forgejo-fleet-local');
}

const paths = {
  instances: () => join(stateDir(), 'instances'),
  instance: (id: string) => join(stateDir(), 'instances', id),
  keys: () => join(stateDir(), 'keys'),
  key: (idempotencyKey: string) =>
    join(stateDir(), 'keys', createHash('sha256').update(idempotencyKey).digest('hex')),
  trash: () => join(stateDir(), 'trash'),
};

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Write to a temporary name in the same directory, then rename: readers see all or nothing. */
async function writeAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, { mode, flag: 'wx' });
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

async function readRecord(dir: string): Promise<InstanceRecord | undefined> {
  const text = await readText(join(dir, 'instance.json'));
  return text === undefined ? undefined : InstanceRecord.parse(JSON.parse(text));
}

/** Read-modify-write of instance.json; false when the instance is gone (deleted meanwhile). */
async function updateRecord(id: string, change: (r: InstanceRecord) => InstanceRecord): Promise<boolean> {
  const dir = paths.instance(id);
  const record = await readRecord(dir);
  if (record === undefined) return false;
  try {
    await writeAtomic(join(dir, 'instance.json'), `${JSON.stringify(change(record))}\n`);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

async function readPid(dir: string): Promise<number | undefined> {
  const text = await readText(join(dir, 'pid'));
  const pid = text === undefined ? Number.NaN : Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The instance as the protocol shows it; a "VM" whose supervisor died is powered off. */
async function view(dir: string, record: InstanceRecord) {
  let state: State = record.state;
  if (state === 'pending' || state === 'running') {
    const pid = record.pid ?? (await readPid(dir));
    if (pid !== undefined && !processRunning(pid)) state = 'stopped';
  }
  return {
    id: record.id,
    name: record.name,
    state,
    tags: record.tags,
    createdAt: record.createdAt,
    machine: record.machine,
  };
}

// ---------------------------------------------------------------------------------------------
// User-data: what cloud-init and the bootstrap script would do, as far as a local process can.

/** Splits POSIX sh words: single quotes, double quotes (no expansion), backslash escapes. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw new Error('unterminated single quote');
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let part = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        part += text[j];
        j++;
      }
      if (j >= text.length) throw new Error('unterminated double quote');
      word = (word ?? '') + part;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

const WriteFile = z.object({
  path: z.string(),
  permissions: z.union([z.string(), z.number()]).optional(),
  content: z.string().optional(),
});
const CloudConfig = z.object({ write_files: z.array(WriteFile).optional() });

/**
 * The runner token (the write_files entry at the bootstrap's token path) and the one-job argv of `run_runner()`, with
 * `--token-url` mapped to `tokenFile`. Undefined when the user-data starts no runner.
 */
function planBoot(userData: string, tokenFile: string): { plan: BootPlan; token?: string } | undefined {
  if (!userData.startsWith('#cloud-config')) return undefined;
  const config = CloudConfig.safeParse(parseYaml(userData, { version: '1.1' }));
  if (!config.success) return undefined;
  const files = config.data.write_files ?? [];
  const token = files.find((f) => f.path === TOKEN_PATH && f.content !== undefined)?.content?.trim();
  const script = files.find((f) => f.content?.includes('run_runner()'))?.content;
  if (script === undefined) return undefined;
  const body = /run_runner\(\)\s*\{\n([\s\S]*?)\n\}/.exec(script)?.[1];
  if (body === undefined) return undefined;
  const words = shellWords(body.replaceAll('\\\n', ' '));
  const argv = ['one-job'];
  for (let i = 0; i < words.length; i++) {
    const flag = words[i];
    const value = words[i + 1];
    if (flag === '--wait') argv.push('--wait');
    else if (value !== undefined && ['--url', '--uuid', '--label', '--handle'].includes(flag ?? '')) {
      argv.push(flag as string, value);
      i++;
    } else if (flag === '--token-url' && value !== undefined) {
      argv.push('--token-url', pathToFileURL(tokenFile).href);
      i++;
    }
  }
  const timeoutLine = /^JOB_TIMEOUT=(.*)$/m.exec(script)?.[1];
  const timeoutSeconds = Number(timeoutLine === undefined ? Number.NaN : shellWords(timeoutLine)[0]);
  const plan = {
    argv,
    timeoutSeconds: Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : 3600,
  };
  return token === undefined || token === '' ? { plan } : { plan, token };
}

// ---------------------------------------------------------------------------------------------
// Verbs

async function existing(keyDir: string, lockTime: number): Promise<Answer | 'stale'> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const id = (await readText(join(keyDir, 'id')))?.trim();
    if (id !== undefined) {
      const dir = paths.instance(id);
      const record = await readRecord(dir);
      if (record === undefined) return { code: EXIT.transient, error: `instance ${id} is being deleted` };
      return {
        code: EXIT.alreadyExists,
        out: { apiVersion: API_VERSION, instance: await view(dir, record) },
      };
    }
    if (Date.now() - lockTime > STALE_LOCK_MS) return 'stale';
    if (Date.now() > deadline) {
      return { code: EXIT.transient, error: 'another create with this idempotency key is in progress' };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function create(input: z.infer<typeof CreateInput>): Promise<Answer> {
  const { spec } = input;
  await mkdir(paths.keys(), { recursive: true, mode: 0o700 });
  await mkdir(paths.instances(), { recursive: true, mode: 0o700 });
  const keyDir = paths.key(spec.idempotencyKey);
  for (;;) {
    try {
      await mkdir(keyDir, { mode: 0o700 });
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      const lockTime = (await stat(keyDir).catch(() => undefined))?.mtimeMs;
      if (lockTime === undefined) continue; // deleted meanwhile: try again
      const answer = await existing(keyDir, lockTime);
      if (answer !== 'stale') return answer;
      process.stderr.write('removing a stale idempotency lock left by a crashed create\n');
      await rm(keyDir, { recursive: true, force: true });
    }
  }

  const id = `local-${randomBytes(6).toString('hex')}`;
  const dir = paths.instance(id);
  await mkdir(dir, { mode: 0o700 });
  const tokenFile = join(dir, 'runner-token');
  const boot = planBoot(spec.userData, tokenFile);
  if (boot?.token !== undefined) await writeAtomic(tokenFile, `${boot.token}\n`, 0o600);
  if (boot !== undefined) await writeAtomic(join(dir, 'boot.json'), `${JSON.stringify(boot.plan)}\n`);
  const record: InstanceRecord = {
    id,
    name: spec.name,
    state: 'pending',
    tags: spec.tags,
    createdAt: Date.now(),
    machine: 'local',
    idempotencyKey: spec.idempotencyKey,
  };
  await writeAtomic(join(dir, 'instance.json'), `${JSON.stringify(record)}\n`);
  await writeAtomic(join(keyDir, 'id'), `${id}\n`);

  // "Power on": a supervisor in its own session, so neither the dispatcher's timeout nor its exit
  // takes the VM down, with no handle on our stdout (the dispatcher waits for it to close).
  const log = await open(join(dir, 'console.log'), 'a', 0o600);
  try {
    const child = spawn(process.execPath, [...process.execArgv, SCRIPT, 'boot', id], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: process.env,
    });
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (!spawned || child.pid === undefined) {
      await updateRecord(id, (r) => ({ ...r, state: 'stopped', exitCode: null }));
      return { code: EXIT.transient, error: 'could not start the local VM process' };
    }
    child.unref();
    await writeAtomic(join(dir, 'pid'), `${child.pid}\n`);
  } finally {
    await log.close();
  }
  return { code: EXIT.ok, out: { apiVersion: API_VERSION, instance: await view(dir, record) } };
}

async function getInstance(id: string): Promise<Answer> {
  const dir = paths.instance(id);
  const record = await readRecord(dir);
  if (record === undefined) return { code: EXIT.notFound };
  return { code: EXIT.ok, out: { apiVersion: API_VERSION, instance: await view(dir, record) } };
}

async function list(tags: Record<string, string>): Promise<Answer> {
  let ids: string[] = [];
  try {
    ids = await readdir(paths.instances());
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  const instances = [];
  for (const id of ids.sort()) {
    const dir = paths.instance(id);
    const record = await readRecord(dir).catch(() => undefined);
    if (record === undefined) continue;
    if (Object.entries(tags).every(([key, value]) => record.tags[key] === value)) {
      instances.push(await view(dir, record));
    }
  }
  return { code: EXIT.ok, out: { apiVersion: API_VERSION, instances } };
}

async function killGroup(pid: number): Promise<void> {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // gone
    }
  };
  send('SIGTERM');
  const deadline = Date.now() + KILL_GRACE_MS;
  while (processRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
  send('SIGKILL');
}

async function remove(id: string): Promise<Answer> {
  await mkdir(paths.trash(), { recursive: true, mode: 0o700 });
  const trash = join(paths.trash(), `${id}.${randomBytes(4).toString('hex')}`);
  try {
    // Atomic: of two deletes one wins, and a supervisor can no longer write the moved state.
    await rename(paths.instance(id), trash);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { code: EXIT.notFound };
    throw error;
  }
  const record = await readRecord(trash).catch(() => undefined);
  const pid = await readPid(trash);
  if (pid !== undefined) await killGroup(pid);
  await rm(trash, { recursive: true, force: true, maxRetries: 3 });
  if (record !== undefined) {
    const keyDir = paths.key(record.idempotencyKey);
    if ((await readText(join(keyDir, 'id')))?.trim() === id)
      await rm(keyDir, { recursive: true, force: true });
  }
  return { code: EXIT.ok, out: { apiVersion: API_VERSION } };
}

/** The "VM": runs the runner like the bootstrap script would, then powers off (state `stopped`). */
async function boot(id: string): Promise<void> {
  const dir = paths.instance(id);
  const log = (message: string) => process.stdout.write(`forgejo-fleet-local[${id}]: ${message}\n`);
  if (!(await updateRecord(id, (r) => ({ ...r, state: 'running', pid: process.pid })))) return;
  const planText = await readText(join(dir, 'boot.json'));
  let exitCode: number | null = null;
  if (planText === undefined) {
    log('the user-data starts no runner; powering off');
  } else {
    const plan = BootPlan.parse(JSON.parse(planText));
    const { fakeRunnerEntry } = await import('@forgejo-fleet/testkit');
    const entry = fakeRunnerEntry();
    log(`starting forgejo-runner one-job (fake), timeout ${plan.timeoutSeconds} s`);
    const runner = spawn(process.execPath, [...entry.nodeArgs, entry.path, ...plan.argv], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: process.env,
    });
    // `timeout --signal=TERM --kill-after=30s $JOB_TIMEOUT` of the bootstrap script.
    let killTimer: NodeJS.Timeout | undefined;
    const jobTimer = setTimeout(() => {
      log('job timeout: stopping the runner');
      runner.kill('SIGTERM');
      killTimer = setTimeout(() => runner.kill('SIGKILL'), RUNNER_KILL_AFTER_MS);
    }, plan.timeoutSeconds * 1000);
    exitCode = await new Promise<number | null>((resolve) => {
      runner.once('error', () => resolve(null));
      runner.once('exit', (code) => resolve(code));
    });
    clearTimeout(jobTimer);
    clearTimeout(killTimer);
    log(`forgejo-runner exited ${exitCode ?? 'by a signal'}`);
  }
  await rm(join(dir, 'runner-token'), { force: true });
  log('powering off');
  await updateRecord(id, (r) => ({ ...r, state: 'stopped', exitCode }));
}

// ---------------------------------------------------------------------------------------------

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Validation messages name fields, never values (the user-data holds the runner token). */
function parseInput<S extends z.ZodType>(schema: S, text: string): z.output<S> | Answer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { code: EXIT.usage, error: 'stdin is not one JSON object' };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return { code: EXIT.usage, error: `stdin ${issue?.path.join('.') || '(root)'}: ${issue?.message}` };
}

function isAnswer(value: unknown): value is Answer {
  return typeof value === 'object' && value !== null && 'code' in value && !('apiVersion' in value);
}

async function main(argv: readonly string[]): Promise<Answer> {
  const verb = argv[0];
  if (verb === 'boot' && argv[1] !== undefined) {
    await boot(argv[1]);
    return { code: EXIT.ok };
  }
  if (verb !== 'create' && verb !== 'delete' && verb !== 'get' && verb !== 'list') {
    return { code: EXIT.usage, error: 'usage: local.ts create|delete|get|list < request.json' };
  }
  const text = await readStdin();
  if (verb === 'create') {
    const input = parseInput(CreateInput, text);
    return isAnswer(input) ? input : create(input);
  }
  if (verb === 'list') {
    const input = parseInput(ListInput, text);
    return isAnswer(input) ? input : list(input.tags);
  }
  const input = parseInput(IdInput, text);
  if (isAnswer(input)) {
    // An id this provider never hands out does not exist.
    return input.error?.startsWith('stdin id:') ? { code: EXIT.notFound } : input;
  }
  return verb === 'get' ? getInstance(input.id) : remove(input.id);
}

try {
  const answer = await main(process.argv.slice(2));
  if (answer.error !== undefined) process.stderr.write(`local provider: ${answer.error}\n`);
  if (answer.out !== undefined) process.stdout.write(`${JSON.stringify(answer.out)}\n`);
  process.exitCode = answer.code;
} catch (error) {
  process.stderr.write(`local provider: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
