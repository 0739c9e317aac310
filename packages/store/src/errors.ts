/**
 * Errors thrown by the store. One base class so the dispatcher can map the whole family once
 * (bad argument → 400, conflict → 409, the rest → 503), and subclasses for the cases it tells apart.
 */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

/** An argument the store refuses before touching the database; `field` names it (`limit`, `to`). */
export class InvalidArgumentError extends StoreError {
  override readonly name: string = 'InvalidArgumentError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The cursor was not produced by this store (truncated, edited, or from another API). */
export class InvalidCursorError extends InvalidArgumentError {
  override readonly name: string = 'InvalidCursorError';

  constructor(problem: string) {
    super('cursor', `malformed cursor (${problem}); pass next_cursor from the previous page unchanged`);
  }
}

/**
 * `insert` got an id that already belongs to a dispatch for another handle (or one without a
 * handle). Ids come from the dispatcher's generator, so this is a bug, never a duplicate request.
 */
export class DispatchConflictError extends StoreError {
  override readonly name: string = 'DispatchConflictError';

  constructor(
    readonly dispatchId: string,
    readonly handle: string | null,
  ) {
    super(`dispatch ${dispatchId} already exists for another handle than ${handle ?? '(none)'}`);
  }
}

/** A stored row does not have the shape the store writes; names the dispatch and the column. */
export class CorruptRecordError extends StoreError {
  override readonly name: string = 'CorruptRecordError';

  constructor(
    readonly dispatchId: string,
    readonly field: string,
    problem: string,
  ) {
    super(`dispatch ${dispatchId}: stored ${field} is corrupt: ${problem}`);
  }
}

/**
 * The database file carries a schema newer than this build knows: an older binary must not write
 * to it (migrations are forward-only), so opening fails instead.
 */
export class UnsupportedSchemaError extends StoreError {
  override readonly name: string = 'UnsupportedSchemaError';

  constructor(
    readonly found: number,
    readonly supported: number,
    readonly path?: string,
  ) {
    super(
      `${path === undefined ? 'database' : `store ${path}`}: schema version ${found} is newer than the ${supported} this build supports; ` +
        'upgrade forgejo-fleet to the build that wrote it, or restore a backup made by this version',
    );
  }
}

/**
 * The store file cannot be opened or read as a database: missing permissions, not SQLite at all,
 * or damaged. Nothing is written; restarting cannot fix it, so the dispatcher exits for good.
 */
export class StoreUnreadableError extends StoreError {
  override readonly name: string = 'StoreUnreadableError';

  constructor(
    readonly path: string,
    /** SQLite's error code, e.g. SQLITE_NOTADB, SQLITE_CORRUPT, SQLITE_CANTOPEN. */
    readonly code: string,
    problem: string,
  ) {
    super(
      `store ${path} cannot be read (${code}: ${problem}); check its owner and permissions, restore it ` +
        'from a backup, or move it away to start with an empty store (see docs/troubleshooting.md)',
    );
  }
}

/** Who holds a store: written by the holder next to the store, read by whoever is refused. */
export interface StoreHolder {
  readonly pid: number;
  readonly host: string;
  /** Epoch milliseconds (UTC) when the holder took the lock. */
  readonly since: number;
}

/** Another process holds the store's owner lock: two dispatchers must never share one store. */
export class StoreLockedError extends StoreError {
  override readonly name: string = 'StoreLockedError';

  constructor(
    readonly path: string,
    /** Undefined when the holder has not written its name yet (it is starting right now). */
    readonly holder: StoreHolder | undefined,
  ) {
    super(
      `store ${path} is in use by ${
        holder === undefined
          ? 'another process (starting; its name is not written yet)'
          : `pid ${holder.pid} on host ${holder.host} since ${new Date(holder.since).toISOString()}`
      }; stop that dispatcher or point this one at another store`,
    );
  }
}

/**
 * A write failed for a reason outside this request: disk full, an I/O error, a read-only file
 * system, or another writer holding the lock past the busy timeout. Nothing was written; the same
 * call may succeed later (the API answers 503 with Retry-After, readiness fails until it does).
 */
export class StoreUnavailableError extends StoreError {
  override readonly name: string = 'StoreUnavailableError';
  /** Seconds a client should wait before retrying. */
  readonly retryAfter = 5;

  constructor(
    /** SQLite's error code, e.g. SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_READONLY. */
    readonly code: string,
    problem: string,
  ) {
    super(`the store cannot take writes right now (${code}: ${problem})`);
  }
}

/**
 * A fenced write (WriteOptions.fence) whose lease has another epoch now, or has expired: the
 * writer is no longer the leader it was (paused, partitioned, slow), so nothing was written.
 */
export class FencedWriteError extends StoreError {
  override readonly name: string = 'FencedWriteError';

  constructor(
    readonly lease: string,
    readonly epoch: number,
  ) {
    super(`lease ${lease} is no longer held at epoch ${epoch} (expired or taken over); nothing was written`);
  }
}

/**
 * The database answered but refuses this store: wrong password (28P01), a role or host the
 * server does not let in (28000), a database that does not exist (3D000), or a server
 * certificate TLS verification rejects. Waiting cannot fix it; the store's settings (URL, secret,
 * store.tls) or the server's must change, so the dispatcher exits as for a bad config.
 */
export class StoreAccessError extends StoreError {
  override readonly name: string = 'StoreAccessError';

  constructor(
    /** The SQLSTATE (28P01, 28000, 3D000) or Node's TLS error code. */
    readonly code: string,
    problem: string,
  ) {
    super(
      `the database refuses this store (${code}: ${problem}); check the URL's user, password and database, and store.tls`,
    );
  }
}

/** A call after `close()`: a wiring bug (shutdown ordering), reported plainly. */
export class StoreClosedError extends StoreError {
  override readonly name: string = 'StoreClosedError';

  constructor() {
    super('the store is closed');
  }
}
