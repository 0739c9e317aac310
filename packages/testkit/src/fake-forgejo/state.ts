import type { Delivery, FakeHook, FakeJob, FakeRunner } from './types.js';

/** An account row: users and orgs share one id space, like Forgejo's `user` table. */
export interface AccountRecord {
  id: number;
  name: string;
  kind: 'user' | 'org';
  admin: boolean;
  /** Owner user names, orgs only. */
  owners: string[];
}

export interface RepoRecord {
  id: number;
  ownerId: number;
  name: string;
  actionsEnabled: boolean;
  /** Per-repo run counter (`index_in_repo`). */
  runIndex: number;
}

export interface TokenRecord {
  token: string;
  userId: number;
  scopes: string[];
}

/** A runner row; status is computed on read. */
export type RunnerRecord = Omit<FakeRunner, 'status'>;

export type JobRecord = FakeJob;

export type HookRecord = FakeHook;

/** The finished state of a job, kept for `action_run_recover` and `last_run`. */
export interface RunOutcome {
  jobId: number;
  status: string;
  started: number;
  stopped: number;
}

export interface TaskRecord {
  id: number;
  jobId: number;
  runnerId: number;
  attempt: number;
  /** Final result once reported or stopped. */
  result: string | null;
  started: number;
}

/** The whole in-memory database of the fake plus its clock and log. */
export interface State {
  now: () => number;
  log: (line: string) => void;
  /** Base URL used in payload links; set by `startFakeForgejo`. */
  baseUrl: string;
  deliveryTimeoutMs: number;
  accounts: Map<number, AccountRecord>;
  repos: Map<number, RepoRecord>;
  tokens: Map<string, TokenRecord>;
  jobs: Map<number, JobRecord>;
  runners: Map<number, RunnerRecord>;
  tasks: Map<number, TaskRecord>;
  hooks: Map<number, HookRecord>;
  deliveries: Delivery[];
  /** Last finished outcome per workflow (repo id + job name). */
  lastRuns: Map<string, RunOutcome>;
  /** Bumped whenever the set of assignable jobs may have changed (`tasksVersion`). */
  tasksVersion: number;
  nextId: (table: 'account' | 'repo' | 'job' | 'runner' | 'task' | 'hook') => number;
}

export function createState(opts: { now: () => number; log: (line: string) => void }): State {
  const counters = new Map<string, number>();
  return {
    now: opts.now,
    log: opts.log,
    baseUrl: 'http://127.0.0.1',
    deliveryTimeoutMs: 2000,
    accounts: new Map(),
    repos: new Map(),
    tokens: new Map(),
    jobs: new Map(),
    runners: new Map(),
    tasks: new Map(),
    hooks: new Map(),
    deliveries: [],
    lastRuns: new Map(),
    tasksVersion: 1,
    nextId(table) {
      const next = (counters.get(table) ?? 0) + 1;
      counters.set(table, next);
      return next;
    },
  };
}

export function accountByName(state: State, name: string): AccountRecord | undefined {
  const lower = name.toLowerCase();
  for (const account of state.accounts.values()) {
    if (account.name.toLowerCase() === lower) return account;
  }
  return undefined;
}

export function repoByName(state: State, owner: string, name: string): RepoRecord | undefined {
  const account = accountByName(state, owner);
  if (!account) return undefined;
  const lower = name.toLowerCase();
  for (const repo of state.repos.values()) {
    if (repo.ownerId === account.id && repo.name.toLowerCase() === lower) return repo;
  }
  return undefined;
}

export function repoFullName(state: State, repo: RepoRecord): string {
  return `${state.accounts.get(repo.ownerId)?.name ?? '?'}/${repo.name}`;
}

/** Forgejo's repo "owner" permission: the owning user, an owner of the owning org, or a site admin. */
export function isRepoAdmin(state: State, user: AccountRecord, repo: RepoRecord): boolean {
  if (user.admin || repo.ownerId === user.id) return true;
  const owner = state.accounts.get(repo.ownerId);
  return owner?.kind === 'org' && owner.owners.some((n) => n.toLowerCase() === user.name.toLowerCase());
}

export function isOrgOwner(user: AccountRecord, org: AccountRecord): boolean {
  return user.admin || org.owners.some((n) => n.toLowerCase() === user.name.toLowerCase());
}

/** Go's RFC 3339 rendering of a unix timestamp: seconds precision, `Z`. */
export function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
