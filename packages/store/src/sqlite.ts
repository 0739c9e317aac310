import type Database from 'better-sqlite3';
import { SqliteError } from 'better-sqlite3';
import { checkLiveLimits, exceededLimit } from './accept-limits.js';
import { checkDecisionKind, checkPruneLimit, checkState, checkTime } from './arguments.js';
import { durably, openDatabase } from './connection.js';
import { createDecisionLister } from './decision-query.js';
import { decisionRow, toDecision } from './decision-row.js';
import { DispatchConflictError, StoreClosedError, StoreUnreadableError } from './errors.js';
import { sqliteLeases } from './lease.js';
import { createLister } from './list-query.js';
import { foldLiveGroups, type LiveGroup } from './live-counts.js';
import { lockStore, type StoreLock } from './lock.js';
import { ensureStoreId, randomStoreId } from './meta.js';
import { type MigrationResult, migrate } from './migrations.js';
import { writeProbe } from './probe.js';
import { retention } from './retention.js';
import { jobToJson, runnerToJson, toRecord } from './row.js';
import { isLiveState } from './state-machine.js';
import { prepareStatements } from './statements.js';
import type {
  DispatchPatch,
  DispatchRecord,
  DispatchState,
  LiveCounts,
  LiveLimits,
  NewDispatch,
  Store,
  TransitionOptions,
  UsageRow,
  WriteOptions,
} from './types.js';
import { warmPool } from './warm.js';
import { writing } from './write-errors.js';

export interface SqliteStoreOptions {
  /** Clock for the store's own bookkeeping (when a migration was applied); records use `at`. */
  readonly now?: () => number;
  /**
   * Take the store's owner lock first (lock.ts) and hold it until `close()`: a second process
   * asking for it gets StoreLockedError. The dispatcher does; tests that open one file twice on
   * purpose (a restart simulated in one process) do not. Ignored for `:memory:`.
   */
  readonly lock?: boolean | { readonly pid?: number; readonly host?: string };
  /** A new store id (tests pass a fixed one); used once, when the store gets its id. */
  readonly newStoreId?: () => string;
  /**
   * Called once with the open connection, before migrations. A test seam: tests set connection
   * pragmas here (a low `max_page_count` makes the real database full: a true SQLITE_FULL).
   */
  readonly connection?: (db: Database.Database) => void;
}

export interface SqliteStore extends Store {
  readonly path: string;
  /** What opening did to the schema, for the startup log line. */
  readonly migration: MigrationResult;
}

/**
 * The default store: one SQLite file (or `:memory:` for tests), one connection per process.
 * better-sqlite3 is synchronous, so each call runs to completion before the next starts in this
 * process; across processes, every write is one IMMEDIATE transaction guarded by the schema's
 * UNIQUE(handle) and the compare-and-set on state.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const now = options.now ?? Date.now;
  const lock: StoreLock | undefined =
    options.lock && path !== ':memory:'
      ? lockStore(path, { ...(typeof options.lock === 'object' ? options.lock : {}), now })
      : undefined;
  let db: ReturnType<typeof openDatabase>;
  let migration: MigrationResult;
  let storeId: string;
  let synced: ReturnType<typeof durably>;
  try {
    db = openFile(path);
    try {
      options.connection?.(db);
      // Synced: every VM and registration is stamped with the store id from here on.
      synced = durably(db);
      migration = synced(() => migrate(db, now));
      storeId = synced(() => ensureStoreId(db, options.newStoreId ?? randomStoreId));
    } catch (error) {
      db.close();
      throw unreadable(path, error);
    }
  } catch (error) {
    lock?.release();
    throw error;
  }
  const statements = prepareStatements(db);
  const warm = warmPool(db);
  const list = createLister(db);
  const listDecisions = createDecisionLister(db);
  const probe = writeProbe(db);
  const prune = retention(db);
  const leases = sqliteLeases(db, now);
  let closed = false;

  /**
   * `write` as is, or inside an IMMEDIATE transaction that first checks the fence (lease.ts); a
   * transaction inside it (`.immediate` too) becomes a savepoint of that one.
   */
  function fenced<T>(fence: WriteOptions['fence'], write: () => T): T {
    return fence === undefined ? write() : leases.fenced(fence, write);
  }

  function open(): void {
    if (closed) throw new StoreClosedError();
  }

  function getById(id: string): DispatchRecord | undefined {
    const row = statements.getById.get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  function getByHandle(handle: string): DispatchRecord | undefined {
    const row = statements.getByHandle.get(handle);
    return row === undefined ? undefined : toRecord(row);
  }

  function mustGet(id: string): DispatchRecord {
    const record = getById(id);
    // Unreachable inside the transaction that just wrote the row; kept as a loud guard.
    if (record === undefined) throw new Error(`dispatch ${id} vanished inside its own transaction`);
    return record;
  }

  /** The live counts now (live_counts, kept by triggers): for countLive and every limited write. */
  function liveCounts(): LiveCounts {
    return foldLiveGroups(statements.countLive.all() as LiveGroup[]);
  }

  const insert = db.transaction(
    (dispatch: NewDispatch, limits?: LiveLimits): { record: DispatchRecord; created: boolean } => {
      // Inside the IMMEDIATE transaction: no other connection writes between the count and the
      // insert. A repeated handle answers with its dispatch first, even at the cap.
      if (limits !== undefined) {
        const held = dispatch.handle === null ? undefined : getByHandle(dispatch.handle);
        if (held !== undefined) return { record: held, created: false };
        const refused = exceededLimit(liveCounts(), dispatch, limits);
        if (refused !== undefined) throw refused;
      }
      return insertRow(dispatch);
    },
  );

  function insertRow(dispatch: NewDispatch): { record: DispatchRecord; created: boolean } {
    let changes: number;
    try {
      changes = statements.insert.run({
        id: dispatch.id,
        handle: dispatch.handle,
        scope: dispatch.scope,
        labels: JSON.stringify([...dispatch.labels]),
        route: dispatch.route,
        client: dispatch.client,
        job: jobToJson(dispatch.job),
        at: dispatch.at,
      }).changes;
    } catch (error) {
      if (!(error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw error;
      // The same id again is a replay of this very insert only if it carries the same handle.
      const existing = getById(dispatch.id);
      if (existing !== undefined && dispatch.handle !== null && existing.handle === dispatch.handle) {
        return { record: existing, created: false };
      }
      throw new DispatchConflictError(dispatch.id, dispatch.handle);
    }
    if (changes === 0) {
      // Only the handle can have conflicted (NULLs never do), and its holder is in this snapshot.
      const existing = dispatch.handle === null ? undefined : getByHandle(dispatch.handle);
      if (existing === undefined)
        throw new Error(`insert of dispatch ${dispatch.id} was ignored without a conflict`);
      return { record: existing, created: false };
    }
    statements.appendTransition.run({ id: dispatch.id, state: 'accepted', at: dispatch.at, reason: null });
    return { record: mustGet(dispatch.id), created: true };
  }

  // Parsed live records by id with the transition seq they were read at. A pass over 10,000 live
  // dispatches then costs one narrow index scan plus the rows that changed since the last pass.
  let liveCache = new Map<string, { seq: number; record: DispatchRecord }>();
  const listLiveCached = db.transaction((): DispatchRecord[] => {
    const versions = statements.listLiveVersions.all() as { id: string; seq: number; updated_at: number }[];
    // A heartbeat (touch) moves updated_at without a transition: it makes a new version too.
    const stale = versions
      .filter((v) => {
        const cached = liveCache.get(v.id);
        return cached?.seq !== v.seq || cached.record.updated_at !== v.updated_at;
      })
      .map((v) => v.id);
    const fresh = new Map<string, DispatchRecord>();
    for (let i = 0; i < stale.length; i += 500) {
      for (const row of statements.getManyById.all(JSON.stringify(stale.slice(i, i + 500)))) {
        const record = toRecord(row);
        fresh.set(record.id, record);
      }
    }
    const next = new Map<string, { seq: number; record: DispatchRecord }>();
    const out: DispatchRecord[] = [];
    for (const { id, seq } of versions) {
      const record = fresh.get(id) ?? liveCache.get(id)?.record;
      if (record === undefined || !isLiveState(record.state)) continue;
      next.set(id, { seq, record });
      out.push(record);
    }
    liveCache = next;
    return out;
  });

  const transition = db.transaction(
    (
      id: string,
      from: readonly DispatchState[],
      to: DispatchState,
      at: number,
      patch: DispatchPatch,
      limits?: LiveLimits,
    ): DispatchRecord | undefined => {
      if (limits !== undefined && isLiveState(to)) refuseOverCap(id, from, limits);
      const { changes } = statements.transition.run({
        id,
        from: JSON.stringify(from),
        to,
        at,
        set_runner: patch.runner === undefined ? 0 : 1,
        runner: patch.runner === undefined ? null : runnerToJson(patch.runner),
        set_provider: patch.provider === undefined ? 0 : 1,
        provider: patch.provider ?? null,
        set_instance_id: patch.instance_id === undefined ? 0 : 1,
        instance_id: patch.instance_id ?? null,
        set_error: patch.error === undefined ? 0 : 1,
        error: patch.error ?? null,
        set_machine: patch.machine === undefined ? 0 : 1,
        machine: patch.machine ?? null,
        set_hourly_price: patch.hourly_price === undefined ? 0 : 1,
        hourly_price: patch.hourly_price ?? null,
        set_retries: patch.retries === undefined ? 0 : 1,
        retries: patch.retries ?? 0,
      });
      if (changes === 0) return undefined;
      statements.appendTransition.run({ id, state: to, at, reason: patch.reason ?? null });
      return mustGet(id);
    },
  );

  /**
   * Inside the transition's IMMEDIATE transaction: a dispatch that turns live again counts against
   * the caps as a new one would (the same rule as insert), serialized with every limited insert.
   */
  function refuseOverCap(id: string, from: readonly DispatchState[], limits: LiveLimits): void {
    const current = getById(id);
    if (current === undefined || !from.includes(current.state) || isLiveState(current.state)) return;
    const refused = exceededLimit(liveCounts(), current, limits);
    if (refused !== undefined) throw refused;
  }

  return {
    path,
    migration,
    storeId,

    async insert(dispatch, options = {}) {
      open();
      checkTime('at', dispatch.at);
      if (options.limits !== undefined) checkLiveLimits(options.limits);
      // Synced: the 202 and the runner registration that follow rely on the intent.
      return writing(() => synced(() => insert.immediate(dispatch, options.limits)));
    },

    async get(id) {
      open();
      return getById(id);
    },

    async getByHandle(handle) {
      open();
      return getByHandle(handle);
    },

    async transition(id, from, to, at, patch = {}, options: TransitionOptions = {}) {
      open();
      checkState('to', to);
      for (const [index, state] of from.entries()) checkState(`from.${index}`, state);
      checkTime('at', at);
      if (options.limits !== undefined) checkLiveLimits(options.limits);
      const { limits } = options;
      const write = () => fenced(options.fence, () => transition.immediate(id, from, to, at, patch, limits));
      return writing(() => (options.durable === false ? write() : synced(write)));
    },

    async list(query) {
      open();
      return list(query);
    },

    async listLive() {
      open();
      return listLiveCached();
    },

    async countLive() {
      open();
      return liveCounts();
    },

    async touch(ids, at) {
      open();
      checkTime('at', at);
      // Lazy (see Store.touch).
      writing(() => statements.touch.run({ ids: JSON.stringify([...ids]), at }));
    },

    async appendDecision(decision, options = {}) {
      open();
      checkTime('at', decision.at);
      checkDecisionKind(decision.kind);
      // Lazy (see Store.appendDecision): a decision explains, nothing recovers from it.
      const { lastInsertRowid } = writing(() =>
        fenced(options.fence, () => statements.appendDecision.run(decisionRow(decision))),
      );
      return toDecision(statements.getDecision.get(lastInsertRowid));
    },

    async listDecisions(query) {
      open();
      return listDecisions(query);
    },

    async usage(since, now) {
      open();
      checkTime('since', since);
      checkTime('now', now);
      return (statements.usage.all({ since, now }) as UsageRow[]).map((row) => ({
        route: row.route,
        scope: row.scope,
        vm_ms: Number(row.vm_ms),
        cost: Number(row.cost),
      }));
    },

    async insertWarm(vm, options = {}) {
      open();
      checkTime('at', vm.at);
      return writing(() => synced(() => fenced(options.fence, () => warm.insert(vm))));
    },

    async getWarm(id) {
      open();
      return warm.get(id);
    },

    async updateWarm(id, from, to, at, patch = {}, options = {}) {
      open();
      checkTime('at', at);
      return writing(() =>
        synced(() => fenced(options.fence, () => warm.update.immediate(id, from, to, at, patch))),
      );
    },

    async claimWarm(route, dispatchId, at, exclude, options = {}) {
      open();
      checkTime('at', at);
      return writing(() =>
        synced(() =>
          fenced(options.fence, () => warm.claim(route, dispatchId, at, exclude?.providers ?? [])),
        ),
      );
    },

    async listWarm() {
      open();
      return warm.list();
    },

    async prune(before, limit, options = {}) {
      open();
      checkTime('before', before);
      checkPruneLimit(limit);
      return writing(() => fenced(options.fence, () => prune(before, limit)));
    },

    async acquireLease(name, holder, ttlMs, at) {
      open();
      // Synced: a leader acts on its grant (deletes VMs) right after it.
      return writing(() => synced(() => leases.acquire(name, holder, ttlMs, at)));
    },

    async releaseLease(name, holder, epoch) {
      open();
      return writing(() => synced(() => leases.release(name, holder, epoch)));
    },

    async readLease(name, at) {
      open();
      return leases.read(name, at);
    },

    async ping() {
      if (closed) return false;
      try {
        probe(now());
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
      lock?.release();
    },
  };
}

/** SQLite codes that mean the file itself is unusable: restarting cannot fix them. */
const UNREADABLE = /^SQLITE_(NOTADB|CORRUPT|CANTOPEN|PERM|AUTH|IOERR|READONLY)/;

function openFile(path: string): ReturnType<typeof openDatabase> {
  try {
    return openDatabase(path);
  } catch (error) {
    throw unreadable(path, error);
  }
}

/** An open-time SQLite failure named by file, with what to do; other errors pass unchanged. */
function unreadable(path: string, error: unknown): unknown {
  if (error instanceof SqliteError && UNREADABLE.test(error.code)) {
    return new StoreUnreadableError(path, error.code, error.message);
  }
  return error;
}
