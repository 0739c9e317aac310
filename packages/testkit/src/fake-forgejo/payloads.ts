import {
  isoTime,
  type JobRecord,
  type RepoRecord,
  type RunOutcome,
  repoFullName,
  type State,
} from './state.js';

function userJson(state: State, id: number): Record<string, unknown> {
  const account = state.accounts.get(id);
  const login = account?.name ?? '';
  return {
    id,
    login,
    login_name: '',
    source_id: 0,
    full_name: '',
    email: `${login}@noreply.localhost`,
    avatar_url: `${state.baseUrl}/avatars/${id}`,
    html_url: `${state.baseUrl}/${login}`,
    language: '',
    is_admin: account?.admin ?? false,
    username: login,
  };
}

/** A trimmed `api.Repository`: the fields a webhook consumer reads. */
export function repositoryJson(state: State, repo: RepoRecord): Record<string, unknown> {
  const fullName = repoFullName(state, repo);
  return {
    id: repo.id,
    owner: userJson(state, repo.ownerId),
    name: repo.name,
    full_name: fullName,
    description: '',
    private: false,
    fork: false,
    html_url: `${state.baseUrl}/${fullName}`,
    url: `${state.baseUrl}/api/v1/repos/${fullName}`,
    clone_url: `${state.baseUrl}/${fullName}.git`,
    default_branch: 'main',
    has_actions: repo.actionsEnabled,
  };
}

/**
 * `api.ActionRun` for a job the fake treats as its own run (run id = job id). Note the Go field
 * `ScheduleID` has no json tag and `duration` is in nanoseconds.
 */
export function actionRunJson(state: State, job: JobRecord, outcome: RunOutcome): Record<string, unknown> {
  const repo = state.repos.get(job.repoId);
  const run: Record<string, unknown> = {
    id: job.id,
    title: job.name,
    repository: repo ? repositoryJson(state, repo) : null,
    workflow_id: `${job.name}.yml`,
    index_in_repo: job.id,
    trigger_user: userJson(state, job.ownerId),
    ScheduleID: 0,
    prettyref: 'main',
    is_ref_deleted: false,
    commit_sha: '0000000000000000000000000000000000000000',
    is_fork_pull_request: false,
    need_approval: false,
    approved_by: 0,
    event: 'push',
    event_payload: '',
    trigger_event: 'push',
    status: outcome.status,
    started: isoTime(outcome.started),
    stopped: isoTime(outcome.stopped),
    created: isoTime(outcome.started),
    updated: isoTime(outcome.stopped),
    html_url: `${state.baseUrl}/${repo ? repoFullName(state, repo) : ''}/actions/runs/${job.id}`,
  };
  const duration = (outcome.stopped - outcome.started) * 1_000_000;
  if (duration > 0) run.duration = duration;
  return run;
}

/** `api.ActionPayload`: `last_run` is omitted when there is none. */
export function actionPayload(
  state: State,
  job: JobRecord,
  action: 'success' | 'failure' | 'recover',
  outcome: RunOutcome,
  priorStatus: string,
  lastRun: RunOutcome | undefined,
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    action,
    run: actionRunJson(state, job, outcome),
    prior_status: priorStatus,
  };
  if (lastRun) {
    const lastJob = state.jobs.get(lastRun.jobId) ?? job;
    payload.last_run = actionRunJson(state, lastJob, lastRun);
  }
  return payload;
}

/** A minimal `api.PushPayload` with no commits. */
export function pushPayload(state: State, repo: RepoRecord, ref: string): Record<string, unknown> {
  const pusher = userJson(state, repo.ownerId);
  return {
    ref,
    before: '0000000000000000000000000000000000000000',
    after: '1111111111111111111111111111111111111111',
    compare_url: '',
    commits: [],
    total_commits: 0,
    head_commit: null,
    repository: repositoryJson(state, repo),
    pusher,
    sender: pusher,
  };
}

/** A minimal `api.PullRequestPayload` (action `opened`) for a pull request from `feature` into `main`. */
export function pullRequestPayload(state: State, repo: RepoRecord): Record<string, unknown> {
  const sender = userJson(state, repo.ownerId);
  const repository = repositoryJson(state, repo);
  return {
    action: 'opened',
    number: 1,
    pull_request: {
      id: 1,
      number: 1,
      title: 'change',
      state: 'open',
      head: { ref: 'feature', label: 'feature', repo: repository },
      base: { ref: 'main', label: 'main', repo: repository },
    },
    repository,
    sender,
  };
}
