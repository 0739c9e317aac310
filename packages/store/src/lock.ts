import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Database, { SqliteError } from 'better-sqlite3';
import { type StoreHolder, StoreLockedError, StoreUnreadableError } from './errors.js';

export interface StoreLock {
  /** The holder this process wrote into `<store>.owner`. */
  readonly holder: StoreHolder;
  release(): void;
}

export interface LockOptions {
  readonly pid?: number;
  readonly host?: string;
  readonly now?: () => number;
}

/**
 * Makes this process the one owner of the store at `path`, or throws StoreLockedError naming the
 * holder (pid, host, since when).
 *
 * Why this shape: the lock must die with its process, so a SIGKILLed dispatcher never blocks the
 * next start. A pid file with a liveness check cannot promise that (pids are reused, another
 * host's pid cannot be checked, and two starts race between the check and the write). An OS
 * lock can, and Node has no flock, but SQLite does: `<store>.lock` is a tiny SQLite database
 * opened in EXCLUSIVE locking mode and written once, so SQLite keeps its exclusive POSIX lock
 * until the connection closes or the process dies (the kernel drops it then). SQLite also tracks
 * locks per file inside one process, so a second open in the same process is refused too.
 *
 * The lock is a separate file, not the store itself: the store stays in WAL mode, readable by
 * `sqlite3 .backup` and other tools while the dispatcher runs. A process refused the lock cannot
 * read anything from the locked database, so the holder also writes its name into
 * `<store>.owner` (a JSON side file, replaced atomically) for the refusal message.
 */
export function lockStore(path: string, options: LockOptions = {}): StoreLock {
  const lockPath = `${path}.lock`;
  const ownerPath = `${path}.owner`;
  let db: Database.Database;
  try {
    db = new Database(lockPath, { timeout: 0 });
  } catch (error) {
    throw unreadable(lockPath, error);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; EXCLUSIVE locking mode keeps it after COMMIT.
    db.exec(`BEGIN EXCLUSIVE;
      CREATE TABLE IF NOT EXISTS held (since INTEGER NOT NULL);
      DELETE FROM held;
      INSERT INTO held (since) VALUES (0);
      COMMIT;`);
  } catch (error) {
    db.close();
    if (error instanceof SqliteError && error.code.startsWith('SQLITE_BUSY')) {
      throw new StoreLockedError(path, readHolder(ownerPath));
    }
    throw unreadable(lockPath, error);
  }
  const holder: StoreHolder = {
    pid: options.pid ?? process.pid,
    host: options.host ?? hostname(),
    since: (options.now ?? Date.now)(),
  };
  try {
    writeFileSync(`${ownerPath}.tmp`, `${JSON.stringify(holder)}\n`, { mode: 0o640 });
    renameSync(`${ownerPath}.tmp`, ownerPath);
  } catch (error) {
    db.close();
    throw unreadable(ownerPath, error);
  }
  let released = false;
  return {
    holder,
    release() {
      if (released) return;
      released = true;
      // The side file goes first: once the lock is free, a new holder may write its own.
      rmSync(ownerPath, { force: true });
      db.close();
    },
  };
}

/**
 * The holder named in `<store>.owner`, or undefined when it is missing, half-written or not ours.
 * (The store package has no zod; the shape is three fields, checked by hand.)
 */
export function readHolder(ownerPath: string): StoreHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(ownerPath, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, host, since } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return undefined;
  if (typeof host !== 'string' || host === '' || !Number.isSafeInteger(since)) return undefined;
  return { pid: pid as number, host, since: since as number };
}

function unreadable(path: string, error: unknown): StoreUnreadableError {
  const code =
    error instanceof SqliteError
      ? error.code
      : ((error as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN');
  return new StoreUnreadableError(path, code, (error as Error).message);
}
