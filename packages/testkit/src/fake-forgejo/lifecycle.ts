import { randomUUID } from 'node:crypto';
import type { Deliverer } from './deliver.js';
import { itRunsOn, jobIsDone } from './job-model.js';
import { actionPayload } from './payloads.js';
import { softDeleteRunner } from './runner-model.js';
import { type JobRecord, type RunnerRecord, repoFullName, type State, type TaskRecord } from './state.js';
import type { FakeJobStatus } from './types.js';

/** Final task results of the runner protocol and the job status each one produces. */
export const FINAL_RESULTS = {
  RESULT_SUCCESS: 'success',
  RESULT_FAILURE: 'failure',
  RESULT_CANCELLED: 'cancelled',
  RESULT_SKIPPED: 'skipped',
} as const satisfies Record<string, FakeJobStatus>;

export type FinalResult = keyof typeof FINAL_RESULTS;

export function resultOfStatus(status: string | null): string {
  for (const [result, s] of Object.entries(FINAL_RESULTS)) if (s === status) return result;
  return 'RESULT_UNSPECIFIED';
}

/** Job queue transitions shared by the seeding API and the runner RPC. */
export interface Lifecycle {
  enqueue(o: {
    repo: string;
    name?: string;
    runsOn: string[] | null;
    needs?: string[] | null;
    blocked?: boolean;
  }): JobRecord;
  unblock(handle: string): void;
  setConcurrencyHeld(handle: string, held: boolean): void;
  cancel(handle: string): void;
  rerun(jobId: number): JobRecord;
  finish(handle: string, result: 'success' | 'failure'): void;
  /** Atomically assigns the first matching waiting job to `runner` (`CreateTaskForRunner`). */
  pickTask(runner: RunnerRecord, handle?: string): { task: TaskRecord; job: JobRecord } | null;
  /** Applies `UpdateTask` with `result`; returns the task's result afterwards. */
  reportResult(runner: RunnerRecord, taskId: number, result: string): string;
}

export function createLifecycle(state: State, deliverer: Deliverer): Lifecycle {
  function jobByHandle(handle: string): JobRecord {
    for (const job of state.jobs.values()) if (job.handle === handle) return job;
    throw new Error(`fake forgejo: no job with handle ${handle}`);
  }

  function runDone(job: JobRecord, status: FakeJobStatus, priorStatus: string, started: number): void {
    const repo = state.repos.get(job.repoId);
    if (!repo) return;
    const key = `${job.repoId}\u0000${job.name}`;
    const lastRun = state.lastRuns.get(key);
    const outcome = { jobId: job.id, status, started, stopped: state.now() };
    state.lastRuns.set(key, outcome);
    state.log(`run ${job.id} of ${repoFullName(state, repo)} done: ${status}`);
    if (status === 'success') {
      void deliverer.dispatch(
        repo,
        'action_run_success',
        actionPayload(state, job, 'success', outcome, priorStatus, lastRun),
      );
      if (lastRun && lastRun.status !== 'success') {
        void deliverer.dispatch(
          repo,
          'action_run_recover',
          actionPayload(state, job, 'recover', outcome, priorStatus, lastRun),
        );
      }
    } else {
      void deliverer.dispatch(
        repo,
        'action_run_failure',
        actionPayload(state, job, 'failure', outcome, priorStatus, lastRun),
      );
    }
  }

  /** `StopTask`: marks the running task cancelled; an ephemeral runner is deleted with it. */
  function stopTask(job: JobRecord): number {
    const task = state.tasks.get(job.taskId);
    if (!task || task.result !== null) return state.now();
    task.result = 'cancelled';
    const runner = state.runners.get(task.runnerId);
    if (runner?.ephemeral) softDeleteRunner(state, runner, `task ${task.id} stopped`);
    return task.started;
  }

  function inRunnerScope(runner: RunnerRecord, job: JobRecord): boolean {
    const repo = state.repos.get(job.repoId);
    if (!repo?.actionsEnabled) return false;
    if (runner.repoId !== 0) return job.repoId === runner.repoId;
    if (runner.ownerId !== 0) return job.ownerId === runner.ownerId;
    return true;
  }

  function complete(
    job: JobRecord,
    task: TaskRecord,
    status: FakeJobStatus,
    runner: RunnerRecord | undefined,
  ): void {
    task.result = status;
    job.status = status;
    state.tasksVersion++;
    if (runner?.ephemeral) softDeleteRunner(state, runner, `task ${task.id} finished`);
    runDone(job, status, 'running', task.started);
  }

  return {
    enqueue(o) {
      const [owner, name, ...rest] = o.repo.split('/');
      const repo = [...state.repos.values()].find(
        (r) => rest.length === 0 && r.name === name && state.accounts.get(r.ownerId)?.name === owner,
      );
      if (!repo) throw new Error(`fake forgejo: unknown repo ${o.repo}`);
      const id = state.nextId('job');
      const job: JobRecord = {
        id,
        attempt: 1,
        handle: randomUUID(),
        repoId: repo.id,
        ownerId: repo.ownerId,
        repo: o.repo,
        name: o.name ?? 'build',
        needs: o.needs === undefined || o.needs === null ? null : [...o.needs],
        runsOn: o.runsOn === null ? null : [...o.runsOn],
        taskId: 0,
        status: o.blocked ? 'blocked' : 'waiting',
        runnerId: null,
        concurrencyHeld: false,
      };
      repo.runIndex++;
      state.jobs.set(id, job);
      state.tasksVersion++;
      state.log(`job ${id} (${job.handle}) enqueued in ${o.repo}: ${job.status}`);
      return job;
    },

    unblock(handle) {
      const job = jobByHandle(handle);
      if (job.status === 'blocked') job.status = 'waiting';
      state.tasksVersion++;
    },

    setConcurrencyHeld(handle, held) {
      jobByHandle(handle).concurrencyHeld = held;
      state.tasksVersion++;
    },

    cancel(handle) {
      const job = jobByHandle(handle);
      if (jobIsDone(job)) return;
      const prior = job.status;
      const started = job.status === 'running' ? stopTask(job) : state.now();
      job.status = 'cancelled';
      state.tasksVersion++;
      state.log(`job ${job.id} (${handle}) cancelled`);
      runDone(job, 'cancelled', prior, started);
    },

    rerun(jobId) {
      const job = state.jobs.get(jobId);
      if (!job) throw new Error(`fake forgejo: no job ${jobId}`);
      if (job.status === 'running') stopTask(job);
      // PrepareNextAttempt: same id, next attempt, fresh handle, back in the queue.
      job.attempt++;
      job.handle = randomUUID();
      job.status = 'waiting';
      job.taskId = 0;
      job.runnerId = null;
      state.tasksVersion++;
      state.log(`job ${job.id} re-run: attempt ${job.attempt}, handle ${job.handle}`);
      return job;
    },

    finish(handle, result) {
      const job = jobByHandle(handle);
      const task = state.tasks.get(job.taskId);
      if (job.status !== 'running' || !task) throw new Error(`fake forgejo: job ${handle} is not running`);
      complete(job, task, result, state.runners.get(task.runnerId));
    },

    pickTask(runner, handle) {
      // An ephemeral runner gets at most one task (`PickTask` / `HasTaskForRunner`).
      if (runner.ephemeral && runner.taskIds.length > 0) return null;
      const labels = runner.labels ?? [];
      for (const job of [...state.jobs.values()].sort((a, b) => a.id - b.id)) {
        if (job.status !== 'waiting' || job.concurrencyHeld) continue;
        if (handle !== undefined && job.handle !== handle) continue;
        if (!inRunnerScope(runner, job) || !itRunsOn(job.runsOn, labels)) continue;
        const task: TaskRecord = {
          id: state.nextId('task'),
          jobId: job.id,
          runnerId: runner.id,
          attempt: job.attempt,
          result: null,
          started: state.now(),
        };
        state.tasks.set(task.id, task);
        job.status = 'running';
        job.taskId = task.id;
        job.runnerId = runner.id;
        runner.taskIds.push(task.id);
        state.tasksVersion++;
        state.log(`task ${task.id}: job ${job.id} (${job.handle}) -> runner ${runner.id}`);
        return { task, job };
      }
      return null;
    },

    reportResult(runner, taskId, result) {
      const task = state.tasks.get(taskId);
      if (!task || task.runnerId !== runner.id) throw new Error(`task ${taskId} not found`);
      const status = (FINAL_RESULTS as Record<string, FakeJobStatus>)[result];
      const job = state.jobs.get(task.jobId);
      // A task already stopped (cancelled) or finished keeps its result; the runner learns it from the reply.
      if (status && task.result === null && job && job.taskId === task.id)
        complete(job, task, status, runner);
      return resultOfStatus(task.result);
    },
  };
}
