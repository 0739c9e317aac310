import { runFakeRunner } from '../fake-runner/run.js';
import type { BootPlan } from './boot-plan.js';
import type { FakeKubeletOptions } from './types.js';

interface Running {
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

/**
 * Runs the testkit fake runner in this process for a pod's container or a VMI's guest, one per
 * object uid, and keeps what it printed. `onExit` gets the runner's exit code once it ends.
 */
export function createKubelet(options: FakeKubeletOptions) {
  const running = new Map<string, Running>();
  const logs = new Map<string, string[]>();

  function log(uid: string, line: string): void {
    const lines = logs.get(uid) ?? [];
    lines.push(line.trimEnd());
    logs.set(uid, lines);
  }

  return {
    fetchInterval: options.fetchInterval ?? '100ms',
    isRunning: (uid: string) => running.has(uid),
    start(uid: string, plan: BootPlan, onExit: (code: number) => void): void {
      const stop = new AbortController();
      const sink = { write: (chunk: string) => log(uid, chunk) };
      const done = runFakeRunner(plan.argv, {
        readFile: async (path) => {
          const content = plan.files.get(path);
          if (content === undefined) throw new Error(`open ${path}: no such file or directory`);
          return content;
        },
        env: {
          FAKE_RUNNER_JOB_MS: String(options.jobMs ?? 20),
          FAKE_RUNNER_RESULT: options.result ?? 'success',
        },
        stdout: sink,
        stderr: sink,
        signal: stop.signal,
        ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      }).then((code) => {
        running.delete(uid);
        onExit(code);
      });
      running.set(uid, { stop, done });
    },
    /** SIGTERM: the runner stops polling and exits. */
    stop(uid: string): Promise<void> {
      const run = running.get(uid);
      if (run === undefined) return Promise.resolve();
      run.stop.abort();
      return run.done;
    },
    log,
    logs: (uid: string) => [...(logs.get(uid) ?? [])],
    /** Waits for every runner that was told to stop. */
    async stopped(): Promise<void> {
      await Promise.all([...running.values()].filter((r) => r.stop.signal.aborted).map((r) => r.done));
    },
    async close(): Promise<void> {
      for (const run of running.values()) run.stop.abort();
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}

export type Kubelet = ReturnType<typeof createKubelet>;
