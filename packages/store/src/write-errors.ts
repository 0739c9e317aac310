import { SqliteError } from 'better-sqlite3';
import { StoreUnavailableError } from './errors.js';

/**
 * SQLite result codes that say "not now" rather than "never": the disk is full, an I/O error,
 * the file system went read-only, another writer held the lock past the busy timeout. The same
 * write may succeed once the operator frees space or remounts, without a restart.
 */
const TRANSIENT = /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|NOMEM)/;

/** Runs a write; a transient SQLite failure becomes StoreUnavailableError (503, Retry-After). */
export function writing<T>(write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (error instanceof SqliteError && TRANSIENT.test(error.code)) {
      throw new StoreUnavailableError(error.code, error.message);
    }
    throw error;
  }
}
