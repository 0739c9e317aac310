import { StoreAccessError, StoreError, StoreUnavailableError } from '../errors.js';

/**
 * SQLSTATEs that say "not now" rather than "never", like the SQLite codes of write-errors.ts: the
 * same call may succeed later without a restart, so the API answers 503 with Retry-After and
 * readiness fails until it does.
 *   08xxx connection exceptions; 53xxx insufficient resources (53100 disk full, 53200 out of
 *   memory, 53300 too many connections); 25006 read-only transaction (a standby, or
 *   default_transaction_read_only during maintenance); 57014 statement timeout; 55P03 lock
 *   timeout; 57P01..57P05 the server is shutting down, crashed, starting or idle-terminated us;
 *   40001/40P01 serialization failure and deadlock (the transaction was rolled back whole).
 */
const TRANSIENT_SQLSTATE = /^(08...|53...|25006|57014|55P03|57P0[1-5]|40001|40P01|58030)$/;

/**
 * SQLSTATEs that say "never with these settings": 28P01 wrong password, 28000 no pg_hba entry
 * or no such role, 3D000 no such database. Transient they are not: retrying only fills the
 * server's log (and may lock the role out).
 */
const ACCESS_SQLSTATE = /^(28P01|28000|3D000)$/;

/** Node's TLS verification failures: the certificate, its CA or its host name is wrong. */
const ACCESS_TLS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Node socket errors: the server is down, restarting or unreachable. */
const TRANSIENT_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** node-postgres' own messages for a lost or unobtainable connection (they carry no code). */
const TRANSIENT_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly)/;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A PostgreSQL or connection failure that may pass becomes StoreUnavailableError (its code the
 * SQLSTATE or socket error); a refusal of the credentials, database or certificate becomes
 * StoreAccessError; every other error passes unchanged. Messages never carry the URL.
 */
export function classify(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  if (!(error instanceof Error)) return error;
  const code = codeOf(error);
  if (code !== undefined && (ACCESS_SQLSTATE.test(code) || ACCESS_TLS.has(code))) {
    return new StoreAccessError(code, error.message);
  }
  if (code !== undefined && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_SOCKET.has(code))) {
    return new StoreUnavailableError(code, error.message);
  }
  if (TRANSIENT_MESSAGE.test(error.message)) return new StoreUnavailableError('connection', error.message);
  // An AggregateError (every address of a host refused) carries the socket code on its members.
  if (error instanceof AggregateError) {
    const inner = error.errors.map(codeOf).find((c) => c !== undefined && TRANSIENT_SOCKET.has(c));
    if (inner !== undefined) return new StoreUnavailableError(inner, error.message || inner);
  }
  return error;
}

/** Runs a store call; a transient failure becomes StoreUnavailableError. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classify(error);
  }
}
