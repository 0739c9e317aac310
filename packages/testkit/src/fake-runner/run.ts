import { readFile as fsReadFile } from 'node:fs/promises';
import {
  DeclareResponse,
  FetchTaskResponse,
  type Task,
  UpdateLogResponse,
  UpdateTaskResponse,
} from '../fake-forgejo/rpc-protocol.js';
import { type OneJobArgs, parseOneJobArgs, UsageError } from './args.js';
import { createRunnerClient, type RunnerClient } from './client.js';
import { readTokenUrl } from './token-url.js';

/** Version the fake declares. */
export const FAKE_RUNNER_VERSION = 'v12.8.2-fake';

/** Exit codes of `forgejo-runner one-job`. */
export const EXIT = { taskRun: 0, error: 1, noTask: 2 } as const;

/** What the fake runner needs from the outside world; everything defaults to the real thing. */
export interface FakeRunnerDeps {
  fetch?: typeof fetch;
  /** Used for the fetch interval and the fake job duration; should resolve early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readFile?: (path: string) => Promise<string>;
  stdout?: { write(chunk: string): unknown };
  stderr?: { write(chunk: string): unknown };
  /** `FAKE_RUNNER_JOB_MS` (default 50), `FAKE_RUNNER_RESULT` (`success` | `failure`), `CREDENTIALS_DIRECTORY`. */
  env?: Record<string, string | undefined>;
  /** Abort = SIGTERM: stop polling and exit 0. */
  signal?: AbortSignal;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * A stand-in for `forgejo-runner one-job`: same flags, same exit codes (0 a task was run, whatever its
 * result; 1 bad arguments or Declare failure; 2 no task without `--wait`). It declares label names,
 * fetches (FetchSingleTask with `--handle`, else FetchTask; errors count as "no task"), "runs" the task
 * for `FAKE_RUNNER_JOB_MS` and reports `FAKE_RUNNER_RESULT` with UpdateLog + UpdateTask. Only talks to
 * loopback URLs.
 */
export async function runFakeRunner(argv: string[], deps: FakeRunnerDeps = {}): Promise<number> {
  const out = deps.stdout ?? { write: () => true };
  const err = deps.stderr ?? { write: () => true };
  const env = deps.env ?? {};
  const sleep = deps.sleep ?? realSleep;
  const info = (msg: string) => out.write(`level=info msg=${JSON.stringify(msg)}\n`);
  const error = (msg: string) => err.write(`level=error msg=${JSON.stringify(msg)}\n`);

  let args: OneJobArgs;
  let token: string;
  try {
    args = parseOneJobArgs(argv);
    if (!isLoopback(args.url))
      throw new UsageError(`the fake runner only talks to loopback, not ${args.url}`);
    token = await readTokenUrl(args.tokenUrl, deps.readFile ?? ((p) => fsReadFile(p, 'utf8')), env);
  } catch (e) {
    error(e instanceof Error ? e.message : String(e));
    return EXIT.error;
  }
  if (args.config !== null) info(`ignoring config file ${args.config}`);

  const client = createRunnerClient({
    url: args.url,
    uuid: args.uuid,
    token,
    version: FAKE_RUNNER_VERSION,
    fetch: deps.fetch ?? globalThis.fetch,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });

  try {
    const declared = await client.call(
      'Declare',
      { version: FAKE_RUNNER_VERSION, labels: args.labelNames },
      DeclareResponse,
    );
    info(
      `runner: ${declared.runner.name}, with version: ${FAKE_RUNNER_VERSION}, with labels: [${args.labelNames.join(' ')}], ephemeral: ${declared.runner.ephemeral}, declared successfully`,
    );
  } catch (e) {
    if (deps.signal?.aborted) return EXIT.taskRun;
    error(`declare: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.error;
  }

  info('single task poller launched');
  for (;;) {
    if (deps.signal?.aborted) {
      info('single task poller is shutting down');
      return EXIT.taskRun;
    }
    const task = await fetchOnce(client, args, error);
    if (task) {
      await runTask(client, task, { env, sleep, info, error });
      info('single task poller is shutting down');
      return EXIT.taskRun;
    }
    if (!args.wait) {
      error('no task received');
      return EXIT.noTask;
    }
    await sleep(args.fetchIntervalMs, deps.signal);
  }
}

async function fetchOnce(
  client: RunnerClient,
  args: OneJobArgs,
  error: (m: string) => void,
): Promise<Task | null> {
  try {
    const res =
      args.handle === null
        ? await client.call('FetchTask', { tasksVersion: '0' }, FetchTaskResponse)
        : await client.call('FetchSingleTask', { handle: args.handle, tasksVersion: '0' }, FetchTaskResponse);
    return res.task ?? null;
  } catch (e) {
    // Fetch errors (auth, network) are logged and count as "no task".
    error(`failed to fetch task: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

async function runTask(
  client: RunnerClient,
  task: Task,
  o: {
    env: Record<string, string | undefined>;
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
    info: (m: string) => void;
    error: (m: string) => void;
  },
): Promise<void> {
  const jobMs = Number(o.env.FAKE_RUNNER_JOB_MS ?? 50);
  const result = o.env.FAKE_RUNNER_RESULT === 'failure' ? 'RESULT_FAILURE' : 'RESULT_SUCCESS';
  const repo = String(task.context?.repository ?? '');
  const job = String(task.context?.job ?? '');
  o.info(`task ${task.id} repo is ${repo}, job ${job}`);
  const startedAt = new Date().toISOString();
  await o.sleep(Number.isFinite(jobMs) && jobMs >= 0 ? jobMs : 50);
  try {
    await client.call(
      'UpdateLog',
      {
        taskId: String(task.id),
        index: '0',
        rows: [{ content: `fake job ${job} ran` }, { content: `result: ${result}` }],
        noMore: true,
      },
      UpdateLogResponse,
    );
    const res = await client.call(
      'UpdateTask',
      { state: { id: String(task.id), result, startedAt, stoppedAt: new Date().toISOString() } },
      UpdateTaskResponse,
    );
    o.info(`task ${task.id} reported ${result}; server says ${res.state.result}`);
  } catch (e) {
    // The job ran; failing to report it (e.g. cancelled and runner deleted) does not change the exit code.
    o.error(`reporting task ${task.id}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
