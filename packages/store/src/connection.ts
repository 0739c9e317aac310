import Database from 'better-sqlite3';
import { StoreError } from './errors.js';

/** How long a writer waits for another connection's write lock before giving up with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens and configures one connection.
 *
 * Durability: WAL with `synchronous = NORMAL`, and a synced commit (FULL, see `durably`) for every
 * write the dispatcher acts on outside the store. With NORMAL a commit reaches the WAL file (the
 * OS page cache) but is not fsynced; SQLite syncs the WAL at each checkpoint.
 *   - A process crash (kill -9, OOM, a panic) loses nothing: the page cache outlives the process.
 *   - A power loss or kernel panic can roll back the newest lazy commits, never half of one and
 *     never an older one while keeping a newer (the WAL is replayed as a checksummed prefix),
 *     and never a synced commit or anything before it (its fsync covers the whole WAL).
 * So a lost lazy commit leaves the store as if the process had crashed just before it, and
 * that is only safe when no outside call depended on it: an intent lost after its VM was created
 * would make the handle look new (a second VM) and the first VM an orphan. The writes that
 * precede an outside call are therefore synced (the intent before the 202 and the runner
 * registration; the runner before provider.create); the rest are lazy only where the reconciler
 * recovers a lost one the same way as a crash just before it (see `WriteOptions` in types.ts).
 * One synced commit costs about 0.3-0.6 ms here; a dispatch now pays two instead of five.
 *
 * WAL lets readers (list, the reconciler) run alongside the single writer; every write takes the
 * lock up front (`BEGIN IMMEDIATE`) so waits go through busy_timeout instead of failing with
 * SQLITE_BUSY on a read-to-write upgrade.
 */
export function openDatabase(path: string): Database.Database {
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    // An in-memory database reports "memory"; a file that refuses WAL (e.g. on a network share)
    // would silently lose the concurrency and durability this store is documented to have.
    if (path !== ':memory:' && mode !== 'wal') {
      throw new StoreError(`${path}: SQLite refused WAL mode (got ${String(mode)}); use a local disk`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs `write` with its commit fsynced (`synchronous = FULL` for that one transaction), then
 * returns the connection to NORMAL. SQLite reads the setting at commit, and a synced WAL commit
 * also makes every lazy commit before it durable.
 */
export function durably(db: Database.Database): <T>(write: () => T) => T {
  // exec, not a prepared statement: SQLite applies this pragma when it compiles it, so a kept
  // statement would only take effect on its re-prepares (measured: the first run does nothing).
  return (write) => {
    db.exec('PRAGMA synchronous = FULL');
    try {
      return write();
    } finally {
      db.exec('PRAGMA synchronous = NORMAL');
    }
  };
}
