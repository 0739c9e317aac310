import type { JobRecord } from './state.js';

/**
 * `ActionRunJob.ItRunsOn`: false if either list is empty, else true iff every `runs_on` label is in
 * `labels` (labels ⊇ runs_on). Used by both the jobs endpoint and task assignment.
 */
export function itRunsOn(runsOn: string[] | null, labels: readonly string[]): boolean {
  if (labels.length === 0 || !runsOn || runsOn.length === 0) return false;
  const set = new Set(labels);
  return runsOn.every((l) => set.has(l));
}

/**
 * Parses the jobs endpoint's `labels` query like v15 `GetActionRunJobs`: absent -> no filter (`[]`);
 * present -> `strings.Split(TrimSpace(value), ",")`, elements NOT trimmed.
 */
export function parseLabelsQuery(values: string[] | undefined): string[] {
  const first = values?.[0];
  if (first === undefined) return [];
  return first.trim().split(',');
}

/**
 * `fromRunJobModelToResponse`: included if no filter, or the first label is empty and the job has no
 * runs_on (so `?labels=` lists label-less jobs), or the job runs on the label set.
 */
export function jobMatchesLabels(job: JobRecord, labels: string[]): boolean {
  if (labels.length === 0) return true;
  if (labels[0] === '' && (!job.runsOn || job.runsOn.length === 0)) return true;
  return itRunsOn(job.runsOn, labels);
}

/** Only `waiting` and `running` jobs are listed (not blocked, not done). */
export function jobIsListed(job: JobRecord): boolean {
  return job.status === 'waiting' || job.status === 'running';
}

export function jobIsDone(job: JobRecord): boolean {
  return (
    job.status === 'success' ||
    job.status === 'failure' ||
    job.status === 'cancelled' ||
    job.status === 'skipped'
  );
}

/** v15 `ActionRunJob` JSON (no `run_id`, that only exists after v15). */
export function jobJson(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    attempt: job.attempt,
    handle: job.handle,
    repo_id: job.repoId,
    owner_id: job.ownerId,
    name: job.name,
    needs: job.needs,
    runs_on: job.runsOn,
    task_id: job.taskId,
    status: job.status,
  };
}
