import type { FakeAnswer } from '../fake-answer.js';

/**
 * Public record shapes of the fake Forgejo. Every accessor of the fake returns copies of these, so a
 * test can keep them around without seeing later changes.
 */

/** Options of {@link createFakeForgejo} and {@link startFakeForgejo}. */
export interface FakeForgejoOptions {
  /** Clock in epoch milliseconds; runner status and timestamps come from it. Default `Date.now`. */
  now?: () => number;
  /** Receives one human-readable line per request, delivery and state change. */
  log?: (line: string) => void;
  /** Timeout of one webhook delivery (real timer). Default 2000 ms; Forgejo's default is 5 s. */
  deliveryTimeoutMs?: number;
  /** Called with every answer, body included: spec-validation tests record them. */
  onAnswer?: (answer: FakeAnswer) => void;
}

/** A seeded user. Users and orgs share one id space, like Forgejo's `user` table. */
export interface FakeUser {
  id: number;
  name: string;
  /** Site administrator. */
  admin: boolean;
}

/** A seeded organization. */
export interface FakeOrg {
  id: number;
  name: string;
  /** Names of the users in the org's Owners team. */
  owners: string[];
}

/** A seeded repository. */
export interface FakeRepo {
  id: number;
  /** Id of the owning user or org. */
  ownerId: number;
  owner: string;
  name: string;
  /** `owner/name`. */
  fullName: string;
  /** When false the repo's `actions/...` endpoints answer 404 and runners never get its jobs. */
  actionsEnabled: boolean;
}

/**
 * Job statuses of Forgejo (`models/actions/status.go`, without `unknown`). Only `waiting` and `running` are
 * listed by the jobs endpoint.
 */
export type FakeJobStatus =
  | 'blocked'
  | 'waiting'
  | 'running'
  | 'success'
  | 'failure'
  | 'cancelled'
  | 'skipped';

/** One `action_run_job` row, plus bookkeeping of the fake. The fake treats each job as its own run. */
export interface FakeJob {
  /** Stays the same across re-runs. */
  id: number;
  /** 1 on enqueue, +1 per re-run. */
  attempt: number;
  /** Unique per attempt (a new uuid on every re-run). */
  handle: string;
  repoId: number;
  ownerId: number;
  /** `owner/name` of the repo. */
  repo: string;
  name: string;
  needs: string[] | null;
  runsOn: string[] | null;
  /** Latest task id; 0 until a runner picked this attempt. */
  taskId: number;
  status: FakeJobStatus;
  /** Runner given the current attempt's task (kept once it finished), or null. */
  runnerId: number | null;
  /**
   * Listed as `waiting`, but held back by a concurrency group: no runner gets it (trap §8.4, the API does
   * not tell). Toggle with `setConcurrencyHeld`.
   */
  concurrencyHeld: boolean;
}

/** Computed runner status (`ActionRunner.Status()`). */
export type FakeRunnerStatus = 'offline' | 'idle' | 'active';

/** One `action_runner` row, including soft-deleted ones. */
export interface FakeRunner {
  id: number;
  /** Rewritten to `ffffffff-ffff-ffff-<little-endian id>` on soft delete. */
  uuid: string;
  /** The secret returned once at registration. */
  token: string;
  name: string;
  description: string;
  ephemeral: boolean;
  /** Owning user/org id; 0 for repo and global runners. */
  ownerId: number;
  /** Owning repo id; 0 for owner and global runners. */
  repoId: number;
  /** Declared label names; null until the runner calls `Declare`. */
  labels: string[] | null;
  /** Self-reported version (from `Declare`), '' until then. */
  version: string;
  /** Epoch ms of the last runner RPC, null if it never connected. */
  lastOnline: number | null;
  /** Epoch ms of the last `UpdateTask`/`UpdateLog`, null if never. */
  lastActive: number | null;
  /** Status computed from the injected clock. */
  status: FakeRunnerStatus;
  /** Soft-deleted (hidden from the API, cannot authenticate). */
  deleted: boolean;
  /** Ids of the tasks this runner was given. */
  taskIds: number[];
}

/** Where a hook belongs and for which repos it fires. */
export type FakeHookKind = 'repo' | 'owner' | 'system' | 'default';

/** One webhook. `default` hooks are admin hooks without `is_system_webhook`: copied into repos added later. */
export interface FakeHook {
  id: number;
  kind: FakeHookKind;
  /** Owning user/org id for `owner` hooks, else 0. */
  ownerId: number;
  /** Owning repo id for `repo` hooks, else 0. */
  repoId: number;
  type: string;
  url: string;
  contentType: 'json' | 'form';
  secret: string;
  /** Event names as the API shows them. */
  events: string[];
  active: boolean;
  branchFilter: string;
  authorizationHeader: string;
  createdAt: number;
  updatedAt: number;
}

/** One attempted webhook delivery. Deliveries are never retried. */
export interface Delivery {
  /** The `X-Forgejo-Delivery` uuid. */
  id: string;
  hookId: number;
  /** `push`, `action_run_success`, `action_run_failure` or `action_run_recover`. */
  event: string;
  url: string;
  /** Request headers sent (or that would have been sent, for refused targets). */
  headers: Record<string, string>;
  /** Exact request body. */
  body: string;
  /** The JSON payload that was signed (equals `body` for `json` hooks). */
  payload: string;
  /** Epoch ms (injected clock) when the delivery was attempted. */
  at: number;
  /** Response status, null if no response. */
  status: number | null;
  /** Why it failed (refused target, timeout, network error), null on any HTTP response. */
  error: string | null;
  /** True for a 2xx response. */
  ok: boolean;
}

/**
 * Webhook delivery faults of `setDeliveryFaults`. `drop` is asked once per delivery, numbered from 1 in the
 * order they start; a dropped delivery is recorded with an error and never sent. `duplicate` sends every
 * delivery that is not dropped a second time, identical (same `X-Forgejo-Delivery`), after the first.
 */
export interface DeliveryFaults {
  drop?: (n: number, event: string) => boolean;
  duplicate?: boolean;
}

/** A fault rule of `injectFault`. */
export interface FaultRule {
  /** HTTP method to match (case-insensitive); any when omitted. */
  method?: string;
  /** Matched against the path after `/api/v1`, or the full path (string: equality; RegExp: test). */
  path: string | RegExp;
  /** Answer with this status and a Forgejo-style (or connect-style, for runner RPC) error body. */
  status?: number;
  /** Wait this long (real timer) first, then fail with `status` or proceed. */
  delayMs?: number;
  /** Never answer, until the server closes or the request is aborted. */
  hang?: boolean;
  /** How many matching requests it applies to; default Infinity. */
  times?: number;
}

/** One line of the request log. */
export interface FakeCall {
  method: string;
  /** Full path without query, e.g. `/api/v1/orgs/acme/actions/runners/jobs`. */
  path: string;
  /** Path plus query string as requested. */
  url: string;
  status: number;
}
