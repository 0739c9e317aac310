import { abortError, formatZodPath } from '@forgejo-fleet/runtime';
import type { Resolved } from '@forgejo-fleet/runtime/config';
import { execa as defaultExeca } from 'execa';
import type { z } from 'zod';
import type { CallTimeouts } from '../config-schema.js';
import {
  type CallOptions,
  DEFAULT_CHOICE,
  type Instance,
  type InstanceSpec,
  type Provider,
  ProviderError,
  type ProviderErrorClass,
} from '../provider.js';
import type { ShellProvider } from './config-schema.js';
import {
  API_VERSION,
  EXIT,
  INHERITED_ENV,
  KILL_GRACE_MS,
  MAX_STDOUT_BYTES,
  STDERR_TAIL_BYTES,
  type Verb,
} from './protocol.js';
import { ApiVersion, ErrorOutput, InstanceOutput, ListOutput } from './schema.js';

export { API_VERSION, EXIT, VERBS, type Verb } from './protocol.js';

/** A `kind: shell` provider entry of the loaded dispatcher config (secrets resolved). */
export type ShellProviderConfig = Resolved<z.output<typeof ShellProvider>>;

/**
 * The part of the config the exec protocol needs; limits and prices are the dispatcher's.
 * `call_timeouts` (per verb) defaults to `timeout` for every verb.
 */
export type ShellProviderOptions = Pick<
  ShellProviderConfig,
  'command' | 'timeout' | 'env' | 'secret_files'
> & {
  readonly call_timeouts?: CallTimeouts | undefined;
};

export interface ShellProviderDeps {
  /** execa's `execa`, for tests. */
  readonly execa?: typeof defaultExeca;
  /** The dispatcher's environment; only PATH, HOME, LANG and TMPDIR are passed on. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** SIGTERM → SIGKILL delay on timeout and abort (default 5 s). */
  readonly killGraceMs?: number;
}

export const SHELL_KIND = 'shell';

const CLASS_BY_EXIT = new Map<number, ProviderErrorClass>([
  [EXIT.capacity, 'capacity'],
  [EXIT.quota, 'quota'],
  [EXIT.rateLimited, 'rate-limited'],
  [EXIT.transient, 'transient'],
]);

/** Words of the user-data that could be a token; they are blanked out of stderr before it is shown. */
const SECRET_LIKE = /[A-Za-z0-9_+=-]{20,}/g;

interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sensitiveWords(text: string): string[] {
  return [...text.matchAll(SECRET_LIKE)]
    .map((match) => match[0])
    .filter((word) => /\d/.test(word) && /[A-Za-z]/.test(word));
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret !== '') out = out.replaceAll(secret, '[redacted]');
  return out;
}

function containsAll(have: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>) {
  return Object.entries(want).every(([key, value]) => have[key] === value);
}

/**
 * A provider that runs an external command per call (see protocol.ts and docs/shell-provider.md):
 * verb on argv, one JSON object on stdin and on stdout, exit codes mapped to ProviderError classes,
 * a hard timeout that kills the command's whole process group.
 */
export function createShellProvider(
  name: string,
  config: ShellProviderOptions,
  deps: ShellProviderDeps = {},
): Provider {
  const run = deps.execa ?? defaultExeca;
  const parentEnv = deps.env ?? process.env;
  const killGraceMs = deps.killGraceMs ?? KILL_GRACE_MS;
  const [file, ...baseArgs] = config.command;
  if (file === undefined) throw new TypeError(`shell provider "${name}": command is empty`);

  function fail(errorClass: ProviderErrorClass, verb: Verb, message: string, retryAfterMs?: number) {
    return new ProviderError(
      name,
      errorClass,
      `shell ${verb}: ${message}`,
      retryAfterMs === undefined ? {} : { retryAfterMs },
    );
  }

  function environment(verb: Verb): Record<string, string> {
    const env: Record<string, string> = {};
    for (const key of INHERITED_ENV) {
      const value = parentEnv[key];
      if (value !== undefined) env[key] = value;
    }
    Object.assign(env, config.env);
    for (const secret of config.secret_files) env[secret.name] = secret.value.reveal();
    env.FORGEJO_FLEET_PROVIDER = name;
    env.FORGEJO_FLEET_VERB = verb;
    env.FORGEJO_FLEET_API_VERSION = API_VERSION;
    return env;
  }

  async function exec(
    verb: Verb,
    payload: Record<string, unknown>,
    secrets: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<RunResult> {
    if (signal?.aborted) throw abortError(signal);
    const subprocess = run(file as string, [...baseArgs, verb], {
      input: JSON.stringify({ apiVersion: API_VERSION, ...payload }),
      env: environment(verb),
      extendEnv: false,
      // Its own process group, so a timeout kills whatever the script started too.
      detached: true,
      reject: false,
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: { stdout: true, stderr: false },
      maxBuffer: { stdout: MAX_STDOUT_BYTES },
      encoding: 'utf8',
      stripFinalNewline: false,
    });

    let stderr = '';
    subprocess.stderr?.setEncoding('utf8');
    subprocess.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });

    let stopped: 'timeout' | 'abort' | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    function killGroup(sig: NodeJS.Signals) {
      if (subprocess.pid === undefined) return;
      try {
        process.kill(-subprocess.pid, sig);
      } catch {
        // Already gone.
      }
    }
    function stop(why: 'timeout' | 'abort') {
      if (stopped !== undefined) return;
      stopped = why;
      killGroup('SIGTERM');
      graceTimer = setTimeout(() => killGroup('SIGKILL'), killGraceMs);
    }
    const deadline = config.call_timeouts?.[verb] ?? config.timeout;
    const timer = setTimeout(() => stop('timeout'), deadline);
    const onAbort = () => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });

    let result: Awaited<typeof subprocess>;
    try {
      result = await subprocess;
    } finally {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
    }
    // Leftovers of a killed call (grandchildren that ignored SIGTERM) go too.
    if (stopped !== undefined || result.isMaxBuffer) killGroup('SIGKILL');

    const tail = redact(stderr.trim(), secrets);
    const withStderr = (message: string) => (tail === '' ? message : `${message}; stderr: ${tail}`);
    if (stopped === 'abort' && signal !== undefined) throw abortError(signal);
    if (stopped === 'timeout') {
      // Worded as the deadline wrapper words it (deadlines.ts): one message for one cause.
      throw fail('transient', verb, withStderr(`deadline of ${deadline / 1_000} s exceeded; killed`));
    }
    if (result.isMaxBuffer) {
      throw fail('fatal', verb, `stdout exceeds ${MAX_STDOUT_BYTES} bytes; killed`);
    }
    if (result.exitCode === undefined) {
      if (result.signal !== undefined) {
        throw fail('fatal', verb, withStderr(`killed by ${result.signal}`));
      }
      // Spawning failed (ENOENT, EACCES): execa's message would repeat the output, so only the code.
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code ?? 'spawn failed';
      throw fail('fatal', verb, `cannot run ${JSON.stringify(file)}: ${code}`);
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: tail };
  }

  /** The JSON object on stdout, or undefined when stdout is empty; apiVersion checked. */
  function readObject(verb: Verb, stdout: string): Record<string, unknown> | undefined {
    const text = stdout.trim();
    if (text === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw fail('fatal', verb, 'stdout is not one JSON object');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw fail('fatal', verb, 'stdout is not one JSON object');
    }
    const version = ApiVersion.safeParse(value);
    if (!version.success) {
      throw fail('fatal', verb, `stdout apiVersion: ${version.error.issues[0]?.message ?? 'invalid'}`);
    }
    return value as Record<string, unknown>;
  }

  function parse<S extends z.ZodType>(verb: Verb, schema: S, value: unknown): z.output<S> {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${formatZodPath(issue.path) || '(root)'}: ${issue.message}`);
    throw fail('fatal', verb, `stdout ${issues.join('; ')}`);
  }

  function expectObject(verb: Verb, stdout: string): Record<string, unknown> {
    const value = readObject(verb, stdout);
    if (value === undefined) throw fail('fatal', verb, 'stdout is empty; expected one JSON object');
    return value;
  }

  /** The error for a non-zero exit that the verb does not handle itself. */
  function exitError(verb: Verb, result: RunResult, secrets: readonly string[]): ProviderError {
    let extra: ErrorOutput = {};
    try {
      const value = readObject(verb, result.stdout);
      const parsed = ErrorOutput.safeParse(value);
      if (parsed.success) extra = parsed.data;
    } catch {
      // Error details on stdout are optional; a broken one must not hide the exit code.
    }
    const errorClass = CLASS_BY_EXIT.get(result.exitCode) ?? 'fatal';
    const label =
      result.exitCode === EXIT.notFound
        ? 'not-found, unexpected here'
        : result.exitCode === EXIT.alreadyExists
          ? 'already-exists, unexpected here'
          : errorClass;
    let message = `exit ${result.exitCode} (${label})`;
    if (extra.message !== undefined && extra.message.trim() !== '') {
      message += `: ${redact(extra.message.trim(), secrets)}`;
    }
    if (result.stderr !== '') message += `; stderr: ${result.stderr}`;
    return fail(errorClass, verb, message, errorClass === 'rate-limited' ? extra.retryAfterMs : undefined);
  }

  const secretValues = config.secret_files.map((secret) => secret.value.reveal());

  async function list(
    tags: Readonly<Record<string, string>>,
    options: CallOptions = {},
    secrets: readonly string[] = secretValues,
  ) {
    const result = await exec('list', { tags }, secrets, options.signal);
    if (result.exitCode !== EXIT.ok) throw exitError('list', result, secrets);
    const { instances } = parse('list', ListOutput, expectObject('list', result.stdout));
    // A script that ignores the filter must not hand us another fleet's machines.
    return instances.filter((instance) => containsAll(instance.tags, tags));
  }

  return {
    name,
    kind: SHELL_KIND,
    choices: [DEFAULT_CHOICE],

    async create(spec: InstanceSpec, options: CallOptions = {}): Promise<Instance> {
      const secrets = [...secretValues, ...sensitiveWords(spec.userData)];
      const payload = {
        spec: {
          name: spec.name,
          idempotencyKey: spec.idempotencyKey,
          userData: spec.userData,
          tags: spec.tags,
        },
      };
      const result = await exec('create', payload, secrets, options.signal);
      if (result.exitCode === EXIT.ok) {
        return parse('create', InstanceOutput, expectObject('create', result.stdout)).instance;
      }
      if (result.exitCode !== EXIT.alreadyExists) throw exitError('create', result, secrets);
      const value = readObject('create', result.stdout);
      if (value !== undefined && 'instance' in value) return parse('create', InstanceOutput, value).instance;
      // Exit 4 without the instance: find it by its tags (and name). The script may echo the
      // user-data's words on this call too, so they stay redacted.
      const found = await list(spec.tags, options, secrets);
      const byName = found.filter((instance) => instance.name === spec.name);
      const match = byName.length === 1 ? byName[0] : found.length === 1 ? found[0] : undefined;
      if (match === undefined) {
        throw fail(
          'transient',
          'create',
          `exit 4 (already-exists) but list by the spec's tags found ${found.length} instances`,
        );
      }
      return match;
    },

    async delete(id: string, options: CallOptions = {}) {
      const result = await exec('delete', { id }, secretValues, options.signal);
      if (result.exitCode === EXIT.notFound) return 'not-found';
      if (result.exitCode !== EXIT.ok) throw exitError('delete', result, secretValues);
      readObject('delete', result.stdout);
      return 'deleted';
    },

    async get(id: string, options: CallOptions = {}) {
      const result = await exec('get', { id }, secretValues, options.signal);
      if (result.exitCode === EXIT.notFound) return undefined;
      if (result.exitCode !== EXIT.ok) throw exitError('get', result, secretValues);
      return parse('get', InstanceOutput, expectObject('get', result.stdout)).instance;
    },

    list,
  };
}
