import type pg from 'pg';
import { checkLiveLimits, exceededLimit, type LiveLimits } from '../accept-limits.js';
import { checkDecisionKind, checkPruneLimit, checkState, checkTime, checkWarmStates } from '../arguments.js';
import { decisionRow, toDecision } from '../decision-row.js';
import { DispatchConflictError, FencedWriteError, StoreClosedError, StoreError } from '../errors.js';
import { checkFence, checkLeaseArguments, checkLeaseName } from '../lease.js';
import { toPage } from '../list-query.js';
import { foldLiveGroups, type LiveGroup, routeScopeKey } from '../live-counts.js';
import { randomStoreId } from '../meta.js';
import type { MigrationResult } from '../migrations.js';
import { jobToJson, runnerToJson, toRecord } from '../row.js';
import { isLiveState } from '../state-machine.js';
import type {
  DispatchPatch,
  DispatchRecord,
  DispatchState,
  LeaseFence,
  LiveCounts,
  NewDispatch,
  Store,
  TransitionOptions,
  UsageRow,
} from '../types.js';
import { toWarm } from '../warm.js';
import { createPool, describeLocation, type PostgresTls } from './connection.js';
import { guarded } from './errors.js';
import { acquireLease, checkFenceHolds, readLease, releaseLease } from './lease.js';
import { migratePostgres } from './migrations.js';
import { decisionQuery, listQuery } from './queries.js';
import { prepared, SQL } from './sql.js';
import { updateWarm, WARM_SQL } from './warm.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. Never logged; messages name host and database. */
  readonly url: string;
  /** Connections in the pool (default 10). */
  readonly poolMax?: number;
  /** Server-side limit of one statement (default 5 s); a timeout is StoreUnavailableError. */
  readonly statementTimeoutMs?: number;
  /** Default `{ mode: 'verify-full' }` with the system CAs. */
  readonly tls?: PostgresTls;
  /** Waiting for a connection (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Use this schema instead of the server's default (tests give each file its own). */
  readonly schema?: string;
  /** Clock for the store's own bookkeeping (when a migration was applied); records use `at`. */
  readonly now?: () => number;
  /** A new store id (tests pass a fixed one); used once, when the store gets its id. */
  readonly newStoreId?: () => string;
  /** An idle pooled connection failed (server restart); for a log line, nothing to recover. */
  readonly onIdleError?: (error: Error) => void;
  /** pg_stat_activity's application_name of the store's connections (default `forgejo-fleet`). */
  readonly applicationName?: string;
}

export interface PostgresStore extends Store {
  /** Host, port, database (and schema): no credentials. */
  readonly location: string;
  /** What opening did to the schema, for the startup log line. */
  readonly migration: MigrationResult;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * A pooled connection for several statements. While checked out, node-postgres hands a
 * connection's errors between statements (the server terminated it) to nobody: an 'error' event
 * without a listener would crash the process. The listener notes the error, and `release` drops
 * such a connection instead of pooling it.
 */
async function checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release: (error?: Error) => void }> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost = error;
  };
  client.on('error', onError);
  return {
    client,
    release(error) {
      client.removeListener('error', onError);
      client.release(error ?? lost);
    },
  };
}

class Rollback extends Error {}

/**
 * What `fleet_insert_dispatch` answers (dispatch-functions.ts): an outcome and the row; a refusal
 * carries the live counts it saw under the lock instead.
 */
type InsertRow =
  | { readonly outcome: 'created' | 'held' | 'conflict' }
  | {
      readonly outcome: 'refused';
      readonly live_total: number;
      readonly live_route: number;
      readonly live_route_scope: number;
    };

/**
 * The cap the insert found reached, named by the shared rule (accept-limits.ts) from the counts
 * the function saw: the refusal reads the same whichever backend or check made it.
 */
function refusal(
  row: Extract<InsertRow, { outcome: 'refused' }>,
  dispatch: NewDispatch,
  limits: LiveLimits,
): StoreError {
  const counts: LiveCounts = {
    total: row.live_total,
    byRoute: new Map([[dispatch.route, row.live_route]]),
    // Per scope alone is no cap (LiveLimits), so the function does not count it.
    byScope: new Map(),
    byRouteScope: new Map([[routeScopeKey(dispatch.route, dispatch.scope), row.live_route_scope]]),
  };
  return (
    exceededLimit(counts, dispatch, limits) ??
    new StoreError(`insert of dispatch ${dispatch.id} was refused with room under every cap`)
  );
}

/**
 * The shared store for several replicas: one PostgreSQL database behind a connection pool.
 * Every write is one transaction; the handle's uniqueness is a constraint and every state change
 * a compare-and-set under the row lock, so any number of connections (and replicas) can write at
 * once. Opening migrates the schema under an advisory lock and reads (or makes) the store id.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const now = options.now ?? Date.now;
  const location = describeLocation(options.url, options.schema);
  const pool = createPool({
    url: options.url,
    poolMax: options.poolMax ?? 10,
    statementTimeoutMs: options.statementTimeoutMs ?? 5_000,
    tls: options.tls ?? { mode: 'verify-full' },
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    schema: options.schema,
    onIdleError: options.onIdleError,
    applicationName: options.applicationName,
  });
  let migration: MigrationResult;
  let storeId: string;
  try {
    ({ migration, storeId } = await guarded(async () => {
      const { client, release } = await checkout(pool);
      try {
        const migration = await migratePostgres(client, now, location);
        await client.query(SQL.ensureStoreId, [(options.newStoreId ?? randomStoreId)()]);
        const { rows } = await client.query<{ value: string }>(SQL.storeId);
        const storeId = rows[0]?.value;
        if (storeId === undefined) throw new StoreError(`store ${location}: the store id was not written`);
        return { migration, storeId };
      } finally {
        release();
      }
    }));
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  let closed = false;

  function open(): void {
    if (closed) throw new StoreClosedError();
  }

  /**
   * Runs `work` in one transaction on one pooled connection; any failure rolls it back. With a
   * fence, the lease row is checked and share-locked first (lease.ts), so no acquire can open a
   * new term between the check and the commit.
   */
  async function transaction<T>(
    work: (db: Queryable) => Promise<T>,
    lazy = false,
    fence?: LeaseFence,
  ): Promise<T> {
    if (fence !== undefined) checkFence(fence);
    const { client, release } = await checkout(pool);
    let broken: Error | undefined;
    try {
      // A lazy commit returns before its WAL is flushed (see WriteOptions.durable): a server
      // crash may lose it, never half of it, never an older commit while keeping it.
      await client.query(lazy ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
      if (fence !== undefined) await checkFenceHolds(client, fence);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => {
        broken = rollback;
      });
      throw error;
    } finally {
      // A connection that cannot roll back is dropped, not handed to the next caller mid-transaction.
      release(broken);
    }
  }

  /** One statement on the pool, or in a fenced transaction when `fence` is given. */
  function write<T>(fence: LeaseFence | undefined, work: (db: Queryable) => Promise<T>): Promise<T> {
    return fence === undefined ? work(pool) : transaction(work, false, fence);
  }

  async function liveCounts(db: Queryable): Promise<LiveCounts> {
    return foldLiveGroups((await db.query<LiveGroup>(prepared('countLive', []))).rows);
  }

  async function one(db: Queryable, query: pg.QueryConfig): Promise<DispatchRecord | undefined> {
    const { rows } = await db.query(query);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async function insert(
    dispatch: NewDispatch,
    limits: LiveLimits | undefined,
  ): Promise<{ record: DispatchRecord; created: boolean }> {
    // One statement, one round trip (migration 3): with limits, the accept lock, the handle check
    // and the count run inside it before the insert, in its own transaction.
    const caps: LiveLimits = limits ?? {};
    const { rows } = await pool.query<InsertRow>(
      prepared('insertDispatch', [
        dispatch.id,
        dispatch.handle,
        dispatch.scope,
        JSON.stringify([...dispatch.labels]),
        dispatch.route,
        dispatch.client,
        jobToJson(dispatch.job),
        dispatch.at,
        limits !== undefined,
        caps.total ?? null,
        caps.route ?? null,
        caps.routeScope ?? null,
      ]),
    );
    const row = rows[0];
    switch (row?.outcome) {
      case 'created':
        return { record: toRecord(row), created: true };
      case 'held':
        return { record: toRecord(row), created: false };
      case 'refused':
        throw refusal(row, dispatch, caps);
      case 'conflict':
        break;
      default:
        throw new StoreError(`insert of dispatch ${dispatch.id} answered no known outcome`);
    }
    // Nothing was written: the id or the handle is taken by a committed row (ON CONFLICT waited
    // for a racing insert to commit). The id is checked first, as SQLite's primary key is.
    const byId = await one(pool, prepared('getById', [dispatch.id]));
    if (byId !== undefined) {
      // The same id again is a replay of this very insert only if it carries the same handle.
      if (dispatch.handle !== null && byId.handle === dispatch.handle)
        return { record: byId, created: false };
      throw new DispatchConflictError(dispatch.id, dispatch.handle);
    }
    const byHandle =
      dispatch.handle === null ? undefined : await one(pool, prepared('getByHandle', [dispatch.handle]));
    if (byHandle === undefined) {
      // The holder was deleted between the conflict and this read (retention): rare, and a retry
      // by the caller inserts normally.
      throw new StoreError(`insert of dispatch ${dispatch.id} conflicted with a row that is gone; retry`);
    }
    return { record: byHandle, created: false };
  }

  async function transition(
    id: string,
    from: readonly DispatchState[],
    to: DispatchState,
    at: number,
    patch: DispatchPatch,
    lazy: boolean,
    fence: LeaseFence | undefined,
    db: Queryable = pool,
  ): Promise<DispatchRecord | undefined> {
    if (fence !== undefined) checkFence(fence);
    // One statement, one round trip (migration 3): the fence check, the compare-and-set, the
    // history row and the read back in one transaction, committed lazily when asked.
    const { rows } = await db.query<{ outcome: string }>(
      prepared('transitionDispatch', [
        id,
        [...from],
        to,
        at,
        patch.runner !== undefined,
        patch.runner === undefined ? null : runnerToJson(patch.runner),
        patch.provider !== undefined,
        patch.provider ?? null,
        patch.instance_id !== undefined,
        patch.instance_id ?? null,
        patch.error !== undefined,
        patch.error ?? null,
        patch.machine !== undefined,
        patch.machine ?? null,
        patch.hourly_price !== undefined,
        patch.hourly_price ?? null,
        patch.retries !== undefined,
        patch.retries ?? 0,
        patch.reason ?? null,
        lazy,
        fence?.name ?? null,
        fence?.epoch ?? null,
      ]),
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    if (row.outcome === 'fenced' && fence !== undefined) throw new FencedWriteError(fence.name, fence.epoch);
    return toRecord(row);
  }

  /**
   * A transition that may make a dispatch live again (a revive), under the caps: the accept lock
   * the insert function takes (class 0x66666163 on the schema's hash), then the row and the live
   * count, then the transition on the same connection. Rare (the reconciler's revives), so a
   * few round trips; the lock serializes it with every limited insert on any replica.
   */
  async function limitedTransition(
    id: string,
    from: readonly DispatchState[],
    to: DispatchState,
    at: number,
    patch: DispatchPatch,
    options: TransitionOptions & { limits: LiveLimits },
  ): Promise<DispatchRecord | undefined> {
    const lazy = options.durable === false;
    return transaction(
      async (db) => {
        await db.query('SELECT pg_advisory_xact_lock(1717985635, hashtext(current_schema()))');
        const current = await one(db, prepared('getById', [id]));
        if (current === undefined || !from.includes(current.state)) return undefined;
        if (!isLiveState(current.state)) {
          const refused = exceededLimit(await liveCounts(db), current, options.limits);
          if (refused !== undefined) throw refused;
        }
        return transition(id, from, to, at, patch, lazy, options.fence, db);
      },
      lazy,
      options.fence,
    );
  }

  return {
    location,
    migration,
    storeId,

    async insert(dispatch, options = {}) {
      open();
      checkTime('at', dispatch.at);
      if (options.limits !== undefined) checkLiveLimits(options.limits);
      return guarded(() => insert(dispatch, options.limits));
    },

    async get(id) {
      open();
      return guarded(() => one(pool, prepared('getById', [id])));
    },

    async getByHandle(handle) {
      open();
      return guarded(() => one(pool, prepared('getByHandle', [handle])));
    },

    async transition(id, from, to, at, patch = {}, options: TransitionOptions = {}) {
      open();
      checkState('to', to);
      for (const [index, state] of from.entries()) checkState(`from.${index}`, state);
      checkTime('at', at);
      const { limits } = options;
      if (limits !== undefined) {
        checkLiveLimits(limits);
        if (isLiveState(to))
          return guarded(() => limitedTransition(id, from, to, at, patch, { ...options, limits }));
      }
      return guarded(() => transition(id, from, to, at, patch, options.durable === false, options.fence));
    },

    async list(query) {
      open();
      const { text, values, limit } = listQuery(query);
      return guarded(async () => toPage((await pool.query(text, values)).rows.map(toRecord), limit));
    },

    async listLive() {
      open();
      return guarded(async () => (await pool.query(SQL.listLive)).rows.map(toRecord));
    },

    async countLive() {
      open();
      return guarded(async () => liveCounts(pool));
    },

    async touch(ids, at) {
      open();
      checkTime('at', at);
      await guarded(() => transaction((db) => db.query(SQL.touch, [[...ids], at]), true));
    },

    async appendDecision(decision, options = {}) {
      open();
      checkTime('at', decision.at);
      checkDecisionKind(decision.kind);
      const row = decisionRow(decision);
      return guarded(async () => {
        const { rows } = await write(options.fence, (db) =>
          db.query(
            prepared('appendDecision', [
              row.at,
              row.kind,
              row.dispatch_id,
              row.route,
              row.scope,
              row.provider,
              row.choice,
              row.attempt,
              row.error_class,
              row.cost,
              row.reason,
            ]),
          ),
        );
        return toDecision(rows[0]);
      });
    },

    async listDecisions(query) {
      open();
      const { text, values } = decisionQuery(query);
      return guarded(async () => (await pool.query(text, values)).rows.map(toDecision));
    },

    async usage(since, until) {
      open();
      checkTime('since', since);
      checkTime('now', until);
      return guarded(async () =>
        (await pool.query<UsageRow>(SQL.usage, [since, until])).rows.map((row) => ({
          route: row.route,
          scope: row.scope,
          vm_ms: Number(row.vm_ms),
          cost: Number(row.cost),
        })),
      );
    },

    async insertWarm(vm, options = {}) {
      open();
      checkTime('at', vm.at);
      return guarded(async () => {
        const { rows } = await write(options.fence, (db) =>
          db.query(WARM_SQL.insert, [vm.id, vm.route, vm.provider, vm.secret_hash, vm.at]),
        );
        return toWarm(rows[0]);
      });
    },

    async getWarm(id) {
      open();
      return guarded(async () => {
        const { rows } = await pool.query(WARM_SQL.get, [id]);
        return rows[0] === undefined ? undefined : toWarm(rows[0]);
      });
    },

    async updateWarm(id, from, to, at, patch = {}, options = {}) {
      open();
      checkTime('at', at);
      checkWarmStates([...from, to]);
      return guarded(async () => {
        const { rows } = await write(options.fence, (db) => updateWarm(db, id, from, to, at, patch));
        return rows[0] === undefined ? undefined : toWarm(rows[0]);
      });
    },

    async claimWarm(route, dispatchId, at, exclude, options = {}) {
      open();
      checkTime('at', at);
      return guarded(async () => {
        const { rows } = await write(options.fence, (db) =>
          db.query(WARM_SQL.claim, [route, dispatchId, at, [...(exclude?.providers ?? [])]]),
        );
        return rows[0] === undefined ? undefined : toWarm(rows[0]);
      });
    },

    async listWarm() {
      open();
      return guarded(async () => (await pool.query(WARM_SQL.listLive)).rows.map(toWarm));
    },

    async prune(before, limit, options = {}) {
      open();
      checkTime('before', before);
      checkPruneLimit(limit);
      return guarded(() =>
        transaction(
          async (db) => ({
            dispatches: (await db.query(SQL.pruneDispatches, [before, limit])).rowCount ?? 0,
            decisions: (await db.query(SQL.pruneDecisions, [before, limit])).rowCount ?? 0,
            warm_vms: (await db.query(SQL.pruneWarm, [before, limit])).rowCount ?? 0,
          }),
          false,
          options.fence,
        ),
      );
    },

    // `now` is ignored: the database server's clock decides (postgres/lease.ts).
    async acquireLease(name, holder, ttlMs, _now) {
      open();
      checkLeaseArguments(name, holder, ttlMs);
      return guarded(() => transaction((db) => acquireLease(db, name, holder, ttlMs)));
    },

    async releaseLease(name, holder, epoch) {
      open();
      checkLeaseName('name', name);
      checkLeaseName('holder', holder);
      return guarded(() => releaseLease(pool, name, holder, epoch));
    },

    async readLease(name, _now) {
      open();
      checkLeaseName('name', name);
      return guarded(() => readLease(pool, name));
    },

    async ping() {
      if (closed) return false;
      try {
        // A write the server must accept (not read-only, not out of disk or connections), then
        // rolled back: readiness proves the write path without leaving anything behind.
        await transaction(async (db) => {
          await db.query(SQL.probe, [now()]);
          throw new Rollback();
        });
        return true;
      } catch (error) {
        return error instanceof Rollback;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
