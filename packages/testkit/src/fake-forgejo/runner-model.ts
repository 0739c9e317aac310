import { randomBytes, randomUUID } from 'node:crypto';
import type { RunnerRecord, State } from './state.js';
import type { FakeRunner, FakeRunnerStatus } from './types.js';

/** `RunnerOfflineTime`: no RPC for longer than this means offline. */
export const RUNNER_OFFLINE_MS = 60_000;
/** `RunnerIdleTime`: no task activity for longer than this means idle. */
export const RUNNER_IDLE_MS = 10_000;

/** Where an API request or a runner lives: instance (0/0), an owner, or a repo. */
export interface RunnerScope {
  ownerId: number;
  repoId: number;
}

/** `ActionRunner.Status()`: from last_online / last_active and the injected clock. */
export function runnerStatus(runner: RunnerRecord, now: number): FakeRunnerStatus {
  if (runner.lastOnline === null || now - runner.lastOnline > RUNNER_OFFLINE_MS) return 'offline';
  if (runner.lastActive === null || now - runner.lastActive > RUNNER_IDLE_MS) return 'idle';
  return 'active';
}

export function runnerSnapshot(runner: RunnerRecord, now: number): FakeRunner {
  return {
    ...runner,
    labels: runner.labels ? [...runner.labels] : null,
    taskIds: [...runner.taskIds],
    status: runnerStatus(runner, now),
  };
}

/** `ActionRunner` JSON of the REST API (`convert.ToActionRunner`), key order as in Go. */
export function runnerJson(runner: RunnerRecord, now: number): Record<string, unknown> {
  return {
    id: runner.id,
    uuid: runner.uuid,
    owner_id: runner.ownerId,
    repo_id: runner.repoId,
    name: runner.name,
    status: runnerStatus(runner, now),
    version: runner.version,
    // agent_labels is a nil slice until the runner declares: JSON null.
    labels: runner.labels,
    description: runner.description,
    ephemeral: runner.ephemeral,
  };
}

export function registerRunner(
  state: State,
  scope: RunnerScope,
  o: { name: string; description: string; ephemeral: boolean },
): RunnerRecord {
  const runner: RunnerRecord = {
    id: state.nextId('runner'),
    uuid: randomUUID(),
    token: randomBytes(20).toString('hex'),
    name: truncateBytes(o.name, 255),
    description: o.description,
    ephemeral: o.ephemeral,
    ownerId: scope.ownerId,
    repoId: scope.repoId,
    labels: null,
    version: '',
    lastOnline: null,
    lastActive: null,
    deleted: false,
    taskIds: [],
  };
  state.runners.set(runner.id, runner);
  state.log(`runner ${runner.id} registered (${runner.ephemeral ? 'ephemeral' : 'persistent'})`);
  return runner;
}

/**
 * `DeleteRunner`: soft delete. The UUID becomes 8 0xff bytes followed by the little-endian id, so the
 * old UUID and token no longer authenticate.
 */
export function softDeleteRunner(state: State, runner: RunnerRecord, reason: string): void {
  if (runner.deleted) return;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(runner.id));
  const hex = b.toString('hex');
  runner.uuid = `ffffffff-ffff-ffff-${hex.slice(0, 4)}-${hex.slice(4)}`;
  runner.deleted = true;
  state.log(`runner ${runner.id} soft-deleted (${reason})`);
}

/** Kind of a runner by its owner columns. */
export function runnerKind(runner: RunnerScope): 'global' | 'owner' | 'repo' {
  if (runner.repoId !== 0) return 'repo';
  if (runner.ownerId !== 0) return 'owner';
  return 'global';
}

/** `FindRunnerOptions.ToConds`: what a list in `scope` returns, with or without `visible`. */
export function listedInScope(
  state: State,
  runner: RunnerRecord,
  scope: RunnerScope,
  visible: boolean,
): boolean {
  if (runner.deleted) return false;
  const global = runner.ownerId === 0 && runner.repoId === 0;
  if (scope.repoId !== 0) {
    if (runner.repoId === scope.repoId) return true;
    if (!visible) return false;
    const repoOwner = state.repos.get(scope.repoId)?.ownerId;
    return global || (runner.ownerId !== 0 && runner.ownerId === repoOwner);
  }
  if (scope.ownerId !== 0) {
    return runner.ownerId === scope.ownerId || (visible && global);
  }
  // Instance: visible=false lists only global runners, visible=true lists every runner.
  return visible || global;
}

/** `GetVisibleRunnerByID`: GET/DELETE by id see the scope's own and inherited runners. */
export function visibleInScope(state: State, runner: RunnerRecord, scope: RunnerScope): boolean {
  if (runner.deleted) return false;
  if (scope.ownerId === 0 && scope.repoId === 0) return true;
  return listedInScope(state, runner, scope, true);
}

/** `ActionRunner.Editable`: only the scope that owns a runner may delete it. */
export function editableInScope(runner: RunnerRecord, scope: RunnerScope): boolean {
  if (scope.ownerId === 0 && scope.repoId === 0) return true;
  if (scope.ownerId > 0 && runner.ownerId === scope.ownerId) return true;
  return scope.repoId > 0 && runner.repoId === scope.repoId;
}

function truncateBytes(s: string, max: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= max) return s;
  return buf
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
