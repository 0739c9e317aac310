export { checkLiveLimits, exceededLimit, LiveLimitError, type LiveLimitKind } from './accept-limits.js';
export {
  COPIED_TABLES,
  type CopiedTable,
  CopyMismatchError,
  type CopyResult,
  type CopyToPostgresOptions,
  copySqliteToPostgres,
  TargetNotEmptyError,
} from './copy-to-postgres.js';
export { type CursorPosition, decodeCursor, encodeCursor } from './cursor.js';
export {
  CorruptRecordError,
  DispatchConflictError,
  FencedWriteError,
  InvalidArgumentError,
  InvalidCursorError,
  StoreAccessError,
  StoreClosedError,
  StoreError,
  type StoreHolder,
  StoreLockedError,
  StoreUnavailableError,
  StoreUnreadableError,
  UnsupportedSchemaError,
} from './errors.js';
export { MAX_LIST_LIMIT } from './list-query.js';
export { routeScopeKey } from './live-counts.js';
export { lockStore, readHolder, type StoreLock } from './lock.js';
export { LATEST_SCHEMA_VERSION, type MigrationResult } from './migrations.js';
export {
  checkPostgresUrl,
  describeLocation,
  type PostgresTls,
  redactUrl,
  type TlsMode,
} from './postgres/connection.js';
export { LATEST_POSTGRES_SCHEMA_VERSION } from './postgres/migrations.js';
export { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from './postgres/store.js';
export { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite.js';
export {
  ALLOWED_TRANSITIONS,
  allowedSources,
  isAllowedTransition,
  isDispatchState,
  isLiveState,
  isTerminalState,
  TERMINAL_STATES,
} from './state-machine.js';
export * from './types.js';
