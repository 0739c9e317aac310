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
  ) {
    super(`database schema version ${found} is newer than the ${supported} this build supports; upgrade`);
  }
}

/** A call after `close()`: a wiring bug (shutdown ordering), reported plainly. */
export class StoreClosedError extends StoreError {
  override readonly name: string = 'StoreClosedError';

  constructor() {
    super('the store is closed');
  }
}
