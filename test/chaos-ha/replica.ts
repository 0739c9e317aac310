/**
 * One replica of an HA chaos run: a real dispatcher or autoscaler process started from its
 * entry point with a config file, which the run kills (SIGKILL), pauses (SIGSTOP/SIGCONT) and
 * starts again on the same ports. Its stdout and stderr (pino JSON) go to a log file that
 * survives every kill, so the report can read what each generation said.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { until } from '../autoscaler-net.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type ReplicaKind = 'dispatcher' | 'autoscaler';

/**
 * `source`: src/main.ts through tsx with the "source" condition, what the bin does in an unbuilt
 * checkout, and never a stale dist/. `bin`: apps/<app>/bin/*.js as installed (dist when built).
 */
export type Entry = 'source' | 'bin';

const APPS: Record<ReplicaKind, { dir: string; bin: string }> = {
  dispatcher: { dir: 'apps/dispatcher', bin: 'bin/forgejo-fleet-dispatcher.js' },
  autoscaler: { dir: 'apps/autoscaler', bin: 'bin/forgejo-fleet-autoscaler.js' },
};

export type ReplicaState = 'up' | 'paused' | 'down';

export interface Replica {
  readonly name: string;
  readonly kind: ReplicaKind;
  /** Its `/healthz`, `/readyz` and `/metrics`. */
  readonly opsUrl: string;
  readonly logFile: string;
  state(): ReplicaState;
  /** Processes started so far (1 after the first start). */
  generations(): number;
  pid(): number | undefined;
  /** Starts a process and waits until its ops endpoint answers. */
  start(): Promise<void>;
  /** SIGKILL, and waits for the exit (its ports are free again). */
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  /** SIGTERM (a resumed process first), waiting for a clean exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
  /** The log's JSON lines, every generation's, each with the `pid` of the process that wrote it. */
  logLines(): Record<string, unknown>[];
}

export interface ReplicaOptions {
  readonly name: string;
  readonly kind: ReplicaKind;
  readonly configFile: string;
  readonly opsUrl: string;
  readonly logFile: string;
  readonly env: Readonly<Record<string, string>>;
  readonly entry: Entry;
  /** How long a start may take before it counts as failed (tsx compiles on a busy machine). */
  readonly startMs?: number;
}

export function createReplica(options: ReplicaOptions): Replica {
  const app = APPS[options.kind];
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let state: ReplicaState = 'down';
  let generations = 0;

  function current(): ReplicaState {
    return state;
  }

  function argv(): string[] {
    const config = ['--config', options.configFile];
    if (options.entry === 'bin') return [`${ROOT}${app.dir}/${app.bin}`, ...config];
    return ['--conditions=source', '--import', 'tsx', `${ROOT}${app.dir}/src/main.ts`, ...config];
  }

  async function healthy(): Promise<true | undefined> {
    try {
      const res = await fetch(`${options.opsUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok ? true : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    name: options.name,
    kind: options.kind,
    opsUrl: options.opsUrl,
    logFile: options.logFile,
    state: () => state,
    generations: () => generations,
    pid: () => child?.pid,

    async start() {
      if (state !== 'down') throw new Error(`${options.name} is ${state}, not down`);
      const log = openSync(options.logFile, 'a');
      const started = spawn(process.execPath, argv(), {
        cwd: ROOT,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      child = started;
      generations++;
      // The logger writes no pid: this marker says which process the lines after it come from.
      appendFileSync(
        options.logFile,
        `${JSON.stringify({ chaos_ha: 'started', pid: started.pid, generation: generations })}\n`,
      );
      state = 'up';
      let exitCode: number | null = null;
      exited = new Promise((resolve) =>
        started.once('exit', (code) => {
          exitCode = code;
          if (child === started) state = 'down';
          resolve(code);
        }),
      );
      await until(
        () => `${options.name} to answer on ${options.opsUrl} (exit ${exitCode}; see ${options.logFile})`,
        async () => (current() === 'down' ? true : await healthy()),
        options.startMs ?? 60_000,
      );
      // Read through a call: the exit handler may have changed it while this start waited.
      if (current() === 'down') {
        throw new Error(`${options.name} exited ${exitCode} at start; see ${options.logFile}`);
      }
    },

    async kill() {
      if (child === undefined || state === 'down') return;
      child.kill('SIGKILL');
      await exited;
    },

    pause() {
      if (state !== 'up') return;
      child?.kill('SIGSTOP');
      state = 'paused';
    },

    resume() {
      if (state !== 'paused') return;
      child?.kill('SIGCONT');
      state = 'up';
    },

    async stop(graceMs = 20_000) {
      if (child === undefined || state === 'down') return exited;
      const running = child;
      if (state === 'paused') running.kill('SIGCONT');
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },

    logLines() {
      const lines: Record<string, unknown>[] = [];
      let pid: unknown;
      for (const line of readFileSync(options.logFile, 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // a line cut by SIGKILL mid-write
        }
        if (parsed.chaos_ha === 'started') pid = parsed.pid;
        else lines.push({ ...parsed, pid });
      }
      return lines;
    },
  };
}
