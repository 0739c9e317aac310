import Database from 'better-sqlite3';
import { StoreError } from './errors.js';

/** How long a writer waits for another connection's write lock before giving up with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens and configures one connection.
 *
 * Durability: `synchronous = FULL`. The dispatcher writes the intent and then makes outside calls
 * (runner registration, provider.create) on the strength of it. With WAL, NORMAL survives a
 * process crash but a power loss or kernel panic can roll back the last commits: exactly that
 * intent. After a restart the handle would look new and get a second VM, and the reaper would
 * treat the first as an orphan while it may be running the job. FULL fsyncs the WAL at every
 * commit; one fsync per dispatch step is cheap next to a cloud API call that takes seconds,
 * and dispatch rates are tens per second at most. See sqlite.bench.ts for the measured cost.
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
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
