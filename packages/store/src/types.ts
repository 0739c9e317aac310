/**
 * The dispatch record: one attempt to give one handle a VM. The store is the single source of
 * truth for "has this handle been given a VM"; the intent is written before any outside call.
 */
export const DISPATCH_STATES = [
  'accepted',
  'registering',
  'provisioning',
  'booting',
  'running',
  'finished',
  'failed',
  'cancelled',
] as const;
export type DispatchState = (typeof DISPATCH_STATES)[number];

/** States in which a dispatch may still own a VM or a runner registration. */
export const LIVE_STATES: readonly DispatchState[] = [
  'accepted',
  'registering',
  'provisioning',
  'booting',
  'running',
];

/** The Forgejo job a dispatch serves (absent for manual dispatches without a handle). */
export interface DispatchJob {
  readonly handle: string;
  readonly id: number;
  readonly attempt: number;
  readonly repo_id: number;
  readonly owner_id: number;
  readonly name: string;
}

export interface DispatchRunner {
  readonly id: number;
  readonly uuid: string;
  readonly name: string;
}

export interface Transition {
  readonly state: DispatchState;
  /** Epoch milliseconds (UTC). */
  readonly at: number;
  readonly reason?: string;
}

export interface DispatchRecord {
  readonly id: string;
  /** Unique among all dispatches that carry one; null for manual dispatches. */
  readonly handle: string | null;
  readonly scope: string;
  readonly labels: readonly string[];
  readonly route: string;
  readonly client: string;
  readonly job: DispatchJob | null;
  readonly state: DispatchState;
  readonly runner: DispatchRunner | null;
  readonly provider: string | null;
  readonly instance_id: string | null;
  /** Why the dispatch failed or was cancelled. */
  readonly error: string | null;
  /** The provider's machine choice key the VM was made with. */
  readonly machine: string | null;
  /** The choice's configured hourly price, when known (money budgets). */
  readonly hourly_price: number | null;
  /** Fresh VMs given to this job after a pickup timeout. */
  readonly retries: number;
  readonly created_at: number;
  readonly updated_at: number;
  readonly transitions: readonly Transition[];
}

export interface NewDispatch {
  readonly id: string;
  readonly handle: string | null;
  readonly scope: string;
  readonly labels: readonly string[];
  readonly route: string;
  readonly client: string;
  readonly job: DispatchJob | null;
  readonly at: number;
}

/**
 * How durable one write must be before it returns. Writes are synced by default: an outside call
 * (a runner registration, a create, an answer to a client) may follow, and a power loss must
 * not undo a write something outside already acted on (connection.ts).
 */
export interface WriteOptions {
  /**
   * `false`: the commit may be rolled back by a power loss or kernel panic (never by a process
   * crash) until the next synced write. Only for writes whose loss the reconciler recovers
   * exactly like a crash just before them: no outside call may depend on the write having
   * happened, or the call must be found again by its tags.
   */
  readonly durable?: boolean;
  /**
   * The write is made on behalf of the holder of lease `name` at `epoch` (the HA leader): the
   * store checks the lease in the write's own transaction and throws FencedWriteError, writing
   * nothing, when the lease has another epoch now or has expired. Absent: not fenced.
   */
  readonly fence?: LeaseFence;
}

/** Names one term of one lease: the writes of a leader that lost it are refused. */
export interface LeaseFence {
  readonly name: string;
  readonly epoch: number;
}

/** Options of the writes whose durability is fixed (decisions, the warm pool, retention). */
export type FenceOptions = Pick<WriteOptions, 'fence'>;

/** What `acquireLease` granted. */
export interface LeaseGrant {
  /** The term: new (previous + 1) whenever the lease was free, released or expired. */
  readonly epoch: number;
  /** Epoch milliseconds of the store's clock (PostgreSQL: the database server's). */
  readonly expiresAt: number;
  /** Who held the lease before this call (null: nobody, ever); the caller itself on a renewal. */
  readonly previousHolder: string | null;
}

/** A lease as stored. */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
  readonly expiresAt: number;
  /** Past `expiresAt` by the store's clock, or released. */
  readonly expired: boolean;
  /** How long until it runs out, by the store's clock (0 once it has): no clock skew in it. */
  readonly expiresInMs: number;
}

/** A write that may be lost to a power loss (see WriteOptions.durable). */
export const LAZY_WRITE = { durable: false } as const satisfies WriteOptions;

/** Fields a transition may set alongside the new state. */
export interface DispatchPatch {
  readonly runner?: DispatchRunner | null;
  readonly provider?: string | null;
  readonly instance_id?: string | null;
  readonly error?: string | null;
  readonly machine?: string | null;
  readonly hourly_price?: number | null;
  readonly retries?: number;
  readonly reason?: string;
}

export const DECISION_KINDS = [
  'create',
  'assign',
  'create-failed',
  'fallback',
  'delete',
  'refusal',
  'adoption',
  'timeout',
  'cancel',
  'retry',
  'reuse',
] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/** One line of the decision log: something the dispatcher did or refused, and why. */
export interface NewDecision {
  readonly at: number;
  readonly kind: DecisionKind;
  readonly reason: string;
  readonly dispatch_id?: string | null;
  readonly route?: string | null;
  readonly scope?: string | null;
  readonly provider?: string | null;
  /** The machine choice key (`cpx22@fsn1`). */
  readonly choice?: string | null;
  /** 1 for the first provider attempt of a dispatch, 2 for the next, … */
  readonly attempt?: number | null;
  readonly error_class?: string | null;
  /** Estimated money per hour of the choice, when priced. */
  readonly cost?: number | null;
}

export interface Decision extends Required<{ [K in keyof NewDecision]: Exclude<NewDecision[K], undefined> }> {
  readonly seq: number;
}

export interface DecisionQuery {
  readonly dispatch_id?: string;
  /** Only decisions of these scopes (undefined: all, with the scope-less fleet-wide ones). */
  readonly scopes?: readonly string[];
  /** Only decisions after this sequence number (tailing), oldest first. */
  readonly after?: number;
  /**
   * Newest first, from just before this sequence number (`Infinity`: the latest). Reads the same
   * index backwards, so the newest page of a million decisions costs what the oldest does.
   */
  readonly before?: number;
  /** 1..1000 */
  readonly limit: number;
}

export const WARM_STATES = ['creating', 'booting', 'idle', 'claimed', 'assigned', 'retired'] as const;
/**
 * creating → booting (the provider made it) → idle (its agent checked in) → claimed (a dispatch
 * took it) → assigned (the agent got the job); any state → retired (killed, recycled, gone).
 */
export type WarmState = (typeof WARM_STATES)[number];

export interface WarmVm {
  readonly id: string;
  readonly route: string;
  readonly provider: string;
  readonly state: WarmState;
  /** sha256 (hex) of the agent's one-time secret; null once the secret was used or the VM retired. */
  readonly secret_hash: string | null;
  readonly instance_id: string | null;
  readonly machine: string | null;
  readonly hourly_price: number | null;
  readonly dispatch_id: string | null;
  readonly reason: string | null;
  readonly created_at: number;
  readonly ready_at: number | null;
  readonly claimed_at: number | null;
  readonly updated_at: number;
}

export interface WarmPatch {
  readonly instance_id?: string;
  readonly machine?: string | null;
  readonly hourly_price?: number | null;
  readonly reason?: string;
  /** Clears the secret: it was used (or the VM is gone). */
  readonly burn_secret?: boolean;
}

/** VM time and estimated money per route and scope, counted inside a window. */
export interface UsageRow {
  readonly route: string;
  readonly scope: string;
  readonly vm_ms: number;
  readonly cost: number;
}

export interface ListQuery {
  readonly state?: DispatchState | undefined;
  readonly scope?: string | undefined;
  readonly route?: string | undefined;
  /** Only dispatches of these scopes (undefined: all); an API client's visible scopes. */
  readonly scopes?: readonly string[] | undefined;
  /** 1..500 */
  readonly limit: number;
  /** Opaque cursor from the previous page. */
  readonly cursor?: string | undefined;
}

export interface ListPage {
  readonly items: readonly DispatchRecord[];
  readonly next_cursor: string | null;
}

export interface LiveCounts {
  readonly total: number;
  readonly byRoute: ReadonlyMap<string, number>;
  readonly byScope: ReadonlyMap<string, number>;
  /** Per route and scope: `${route}\u0000${scope}`. */
  readonly byRouteScope: ReadonlyMap<string, number>;
}

/** Caps on live dispatches an insert must leave room under (accept-time limits); absent: no cap. */
export interface LiveLimits {
  /** All live dispatches (`limits.max_vms`). */
  readonly total?: number | undefined;
  /** Live dispatches on the new dispatch's route. */
  readonly route?: number | undefined;
  /** Live dispatches on the new dispatch's route in its scope. */
  readonly routeScope?: number | undefined;
}

export interface InsertOptions {
  readonly limits?: LiveLimits;
}

export interface TransitionOptions extends WriteOptions {
  /**
   * When the transition makes a dispatch live again (a revive: `failed` → `registering`), the
   * live dispatches are counted in its own transaction, serialized with every limited insert, and
   * a reached cap throws LiveLimitError, writing nothing. A live-to-live move is never refused.
   */
  readonly limits?: LiveLimits;
}

/** Rows one retention call deleted. */
export interface PruneResult {
  readonly dispatches: number;
  readonly decisions: number;
  readonly warm_vms: number;
}

/**
 * Async so a PostgreSQL implementation can stand behind it for several replicas. Every write
 * is atomic. A write the database cannot take right now (disk full, I/O error, read-only) throws
 * StoreUnavailableError; the same write may succeed later.
 */
export interface Store {
  /**
   * This store's id, made with the store and never changed: every VM and runner registration
   * made on its behalf carries it, so a store never deletes another store's.
   */
  readonly storeId: string;
  /**
   * Writes the intent. When a dispatch with the same handle exists, nothing is written and the
   * existing record comes back with `created: false` (the idempotency of POST /v1/dispatch),
   * whatever the limits. With `limits`, the live dispatches are counted in the insert's own
   * transaction, serialized with every other limited insert on the database (any number of
   * replicas), and a reached cap throws LiveLimitError, writing nothing.
   */
  insert(
    dispatch: NewDispatch,
    options?: InsertOptions,
  ): Promise<{ record: DispatchRecord; created: boolean }>;
  get(id: string): Promise<DispatchRecord | undefined>;
  getByHandle(handle: string): Promise<DispatchRecord | undefined>;
  /**
   * Compare-and-set: moves the dispatch to `to` only if its current state is one of `from`,
   * appending a timestamped transition and applying `patch`; undefined when it was not in `from`
   * (someone else moved it first) or does not exist.
   */
  transition(
    id: string,
    from: readonly DispatchState[],
    to: DispatchState,
    at: number,
    patch?: DispatchPatch,
    options?: TransitionOptions,
  ): Promise<DispatchRecord | undefined>;
  /** Newest first. */
  list(query: ListQuery): Promise<ListPage>;
  /** Every dispatch in a live state (for the reconciler). */
  listLive(): Promise<readonly DispatchRecord[]>;
  countLive(): Promise<LiveCounts>;
  /**
   * A heartbeat of the replica provisioning these dispatches: moves `updated_at` up to `at` for
   * those still in accepted, registering or provisioning, appending no transition, so another
   * replica's reconciler sees they are being worked on and does not resume them. Not synced (a
   * lost heartbeat only lets a resume come sooner, which the create's idempotency key covers).
   */
  touch(ids: readonly string[], at: number): Promise<void>;
  /**
   * Appends to the decision log; the log is never rewritten. Not synced: decisions explain, they
   * are never read back to recover, so a power loss may lose the newest (like the JSONL file).
   */
  appendDecision(decision: NewDecision, options?: FenceOptions): Promise<Decision>;
  /** Oldest first. */
  listDecisions(query: DecisionQuery): Promise<readonly Decision[]>;
  /** VM time (booting → ended, or now) overlapping [since, now) per route and scope. */
  usage(since: number, now: number): Promise<readonly UsageRow[]>;
  /** Records a warm VM about to be created (state `creating`). */
  insertWarm(
    vm: {
      id: string;
      route: string;
      provider: string;
      secret_hash: string;
      at: number;
    },
    options?: FenceOptions,
  ): Promise<WarmVm>;
  getWarm(id: string): Promise<WarmVm | undefined>;
  /** Compare-and-set on a warm VM's state, like `transition`. */
  updateWarm(
    id: string,
    from: readonly WarmState[],
    to: WarmState,
    at: number,
    patch?: WarmPatch,
    options?: FenceOptions,
  ): Promise<WarmVm | undefined>;
  /**
   * Atomically gives the longest-idle warm VM of `route` to `dispatchId` (idle → claimed), or
   * undefined when none is idle. A warm VM is claimed at most once, ever.
   */
  claimWarm(
    route: string,
    dispatchId: string,
    at: number,
    exclude?: { providers: readonly string[] },
    options?: FenceOptions,
  ): Promise<WarmVm | undefined>;
  /** Every warm VM not yet retired. */
  listWarm(): Promise<readonly WarmVm[]>;
  /**
   * Deletes ended dispatches (with their transitions), decisions and retired warm VMs last touched
   * before `before`, at most `limit` of each; never a live dispatch or its decisions.
   */
  prune(before: number, limit: number, options?: FenceOptions): Promise<PruneResult>;
  /**
   * Takes lease `name` for `holder` for `ttlMs` when it is free, released or expired (a new epoch),
   * or renews it when `holder` holds it (same epoch); undefined when another holder has it. Time
   * is the store's: `now` for SQLite (one host), the database server's clock for PostgreSQL, so
   * replicas whose clocks disagree still agree on who holds it.
   */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<LeaseGrant | undefined>;
  /** Gives the lease up at once if `holder` holds it at `epoch` (a graceful stop); true if it did. */
  releaseLease(name: string, holder: string, epoch: number): Promise<boolean>;
  readLease(name: string, now: number): Promise<Lease | undefined>;
  /** True when the store answers and takes a write (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
