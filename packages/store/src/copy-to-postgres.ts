import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { StoreError } from './errors.js';
import { lockStore } from './lock.js';
import { createPool, describeLocation } from './postgres/connection.js';
import { migratePostgres } from './postgres/migrations.js';
import type { PostgresStoreOptions } from './postgres/store.js';
import { openSqliteStore } from './sqlite.js';

/**
 * The tables that hold the fleet's state, parents first (transitions reference dispatches).
 * `schema_migrations` and `probe` are the store's own bookkeeping: each backend keeps its own.
 */
export const COPIED_TABLES = ['meta', 'dispatches', 'transitions', 'decisions', 'warm_vms'] as const;
export type CopiedTable = (typeof COPIED_TABLES)[number];

/** Tables whose rows say a dispatcher has already worked on a database. */
const STATE_TABLES = ['dispatches', 'decisions', 'warm_vms'] as const;

/** PostgreSQL takes at most 65,535 parameters per statement; rows go in batches under that. */
const MAX_PARAMETERS = 60_000;
const MAX_BATCH_ROWS = 1_000;

export interface CopyToPostgresOptions {
  /** The SQLite store file (the dispatcher's `store.path`). */
  readonly sqlitePath: string;
  /** Where to copy to, as the dispatcher would open it. */
  readonly postgres: PostgresStoreOptions;
  readonly now?: () => number;
}

export interface CopyResult {
  /** The store id both stores now carry: the fleet's VMs and registrations keep their owner. */
  readonly storeId: string;
  /** The target's own store id, replaced by the source's (it was opened before but left empty). */
  readonly replacedStoreId: string | undefined;
  /** Host, port, database (and schema) of the target; no credentials. */
  readonly location: string;
  /** Rows copied per table (equal in both stores: checked before the commit). */
  readonly rows: Readonly<Record<CopiedTable, number>>;
}

/**
 * The target database already holds a fleet's state. Merging two stores would mix two histories
 * (and two owners' VMs), so the copy refuses instead of overwriting or appending.
 */
export class TargetNotEmptyError extends StoreError {
  override readonly name: string = 'TargetNotEmptyError';

  constructor(
    readonly location: string,
    readonly counts: Readonly<Record<string, number>>,
  ) {
    super(
      `target ${location} already holds ${Object.entries(counts)
        .filter(([, count]) => count > 0)
        .map(([table, count]) => `${count} ${table}`)
        .join(', ')}; copy into an empty database (or schema), never over a running fleet's`,
    );
  }
}

/** Both stores should hold the same rows after the copy but do not: rolled back, nothing kept. */
export class CopyMismatchError extends StoreError {
  override readonly name: string = 'CopyMismatchError';
}

/**
 * Copies a SQLite store into an empty PostgreSQL database in one transaction: the move of a
 * single-host fleet to the shared store. Holds the SQLite store's owner lock throughout, so it
 * refuses while a dispatcher runs on the file (StoreLockedError) and no dispatcher can start on
 * it meanwhile. The source is first brought to this build's schema (as the dispatcher's next
 * start would); the target is migrated the same way, then locked, checked empty, filled and
 * verified row count by row count before the commit. Any failure rolls the target back whole.
 */
export async function copySqliteToPostgres(options: CopyToPostgresOptions): Promise<CopyResult> {
  const now = options.now ?? Date.now;
  // Opening a missing path would make a new, empty store and copy nothing.
  if (!existsSync(options.sqlitePath)) throw new StoreError(`${options.sqlitePath}: no SQLite store there`);
  const lock = lockStore(options.sqlitePath, { now });
  try {
    // Migrates the source to this build's schema and gives it a store id if it has none yet.
    const source = openSqliteStore(options.sqlitePath, { now });
    const storeId = source.storeId;
    await source.close();
    const db = new Database(options.sqlitePath, { readonly: true, fileMustExist: true });
    try {
      return await copyInto(db, storeId, options, now);
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}

async function copyInto(
  db: Database.Database,
  storeId: string,
  options: CopyToPostgresOptions,
  now: () => number,
): Promise<CopyResult> {
  const target = options.postgres;
  const pool = createPool({
    url: target.url,
    poolMax: 1,
    statementTimeoutMs: target.statementTimeoutMs ?? 5_000,
    tls: target.tls ?? { mode: 'verify-full' },
    connectTimeoutMs: target.connectTimeoutMs ?? 5_000,
    schema: target.schema,
    applicationName: target.applicationName ?? 'forgejo-fleet-store-migrate',
  });
  // An idle connection's error must not crash the command; the next query reports it.
  pool.on('error', () => undefined);
  const location = describeLocation(target.url, target.schema);
  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client, now, location);
      // One read transaction on the source: every table from the same snapshot.
      db.exec('BEGIN');
      try {
        return await fill(db, client, storeId, location);
      } finally {
        db.exec('ROLLBACK');
      }
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

async function fill(
  db: Database.Database,
  client: pg.PoolClient,
  storeId: string,
  location: string,
): Promise<CopyResult> {
  await client.query('BEGIN');
  try {
    // A large store takes longer than the pool's per-request limits.
    await client.query("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '30s'");
    // Nobody reads or writes these tables until the copy commits or rolls back.
    await client.query(`LOCK TABLE ${COPIED_TABLES.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const existing: Record<string, number> = {};
    for (const table of STATE_TABLES) existing[table] = await countRows(client, table);
    if (Object.values(existing).some((count) => count > 0)) throw new TargetNotEmptyError(location, existing);
    const { rows: ids } = await client.query<{ value: string }>(
      "SELECT value FROM meta WHERE key = 'store_id'",
    );
    const targetId = ids[0]?.value;
    // An empty target opened by a dispatcher before got its own id; the fleet's VMs carry ours.
    await client.query('DELETE FROM meta');
    const rows = {} as Record<CopiedTable, number>;
    for (const table of COPIED_TABLES) rows[table] = await copyTable(db, client, table);
    await client.query(
      "SELECT setval(pg_get_serial_sequence('decisions', 'seq'), max(seq)) FROM decisions HAVING count(*) > 0",
    );
    for (const table of COPIED_TABLES) {
      const copied = await countRows(client, table);
      if (copied !== rows[table]) {
        throw new CopyMismatchError(
          `${table}: ${rows[table]} rows in the SQLite store but ${copied} in ${location}; nothing was committed`,
        );
      }
    }
    const { rows: after } = await client.query<{ value: string }>(
      "SELECT value FROM meta WHERE key = 'store_id'",
    );
    if (after[0]?.value !== storeId) {
      throw new CopyMismatchError(`the store id in ${location} is not ${storeId}; nothing was committed`);
    }
    await client.query('COMMIT');
    return {
      storeId,
      replacedStoreId: targetId !== undefined && targetId !== storeId ? targetId : undefined,
      location,
      rows,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function countRows(client: pg.PoolClient, table: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? 0;
}

/**
 * Copies one table by the SQLite columns' names. A column the target lacks would lose data, so
 * it stops the copy; a target-only column (added later, nullable or defaulted) takes its default.
 */
async function copyTable(db: Database.Database, client: pg.PoolClient, table: CopiedTable): Promise<number> {
  const columns = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  const { rows: targetColumns } = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const known = new Set(targetColumns.map((c) => c.column_name));
  const missing = columns.filter((column) => !known.has(column));
  if (missing.length > 0) {
    throw new CopyMismatchError(
      `${table}: the target has no column ${missing.join(', ')}; use the same forgejo-fleet version for both stores`,
    );
  }
  // decisions.seq is an identity column: keep the numbers (cursors and `after` tails use them).
  const overriding = table === 'decisions' ? ' OVERRIDING SYSTEM VALUE' : '';
  const batch = Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMETERS / columns.length));
  let copied = 0;
  let pending: unknown[][] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const tuples = pending.map(
      (_, row) => `(${columns.map((_, col) => `$${row * columns.length + col + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO ${table} (${columns.join(', ')})${overriding} VALUES ${tuples.join(', ')}`,
      pending.flat(),
    );
    copied += pending.length;
    pending = [];
  };
  const order = table === 'transitions' ? 'dispatch_id, seq' : table === 'meta' ? 'key' : 'rowid';
  const statement = db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${order}`).raw(true);
  for (const row of statement.iterate() as Iterable<unknown[]>) {
    pending.push(row);
    if (pending.length >= batch) await flush();
  }
  await flush();
  return copied;
}
