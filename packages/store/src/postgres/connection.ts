/**
 * The connection pool of the PostgreSQL store.
 *
 * Driver: node-postgres (`pg` 8). Pure JavaScript (no native build next to better-sqlite3's),
 * the most used and longest maintained PostgreSQL client for Node, with a `Pool`, per-connection
 * `statement_timeout`, Node's own TLS options, SQLSTATE codes on every server error (what the
 * error mapping keys on), and plain `LISTEN`/`NOTIFY` on a dedicated client for the warm pool's
 * cross-replica delivery later. Its SQL is a string with `$n` parameters, so the store builds its
 * few filter combinations like the SQLite lister does; `postgres` (porsager) is as capable but
 * centred on tagged templates, which fit static queries better than built ones.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { InvalidArgumentError, StoreError } from '../errors.js';

export type TlsMode = 'disable' | 'require' | 'verify-full';

export interface PostgresTls {
  /**
   * `disable`: plain TCP (a local socket or a trusted network); `require`: encrypted, the
   * server's certificate not checked; `verify-full`: encrypted, the certificate checked against
   * the system CAs (or `caFile`) and the host name.
   */
  readonly mode: TlsMode;
  /** PEM file of the CA that signed the server's certificate (`verify-full`). */
  readonly caFile?: string | undefined;
}

export interface PoolOptions {
  /** `postgres://user:password@host:port/database`; never logged (see `redactUrl`). */
  readonly url: string;
  /** Connections in the pool (1..100). */
  readonly poolMax: number;
  /** The server cancels a statement running longer than this (SQLSTATE 57014). */
  readonly statementTimeoutMs: number;
  readonly tls: PostgresTls;
  /** How long to wait for a connection (a new one, or a free one from a full pool). */
  readonly connectTimeoutMs: number;
  /** Tables live in this schema (`search_path`); unset: the server's default (`public`). */
  readonly schema?: string | undefined;
  /** An idle pooled connection failed (server restart, network); the next query reconnects. */
  readonly onIdleError?: ((error: Error) => void) | undefined;
  /** Shown in pg_stat_activity, so an operator sees whose connections these are. */
  readonly applicationName?: string | undefined;
}

/** URL parameters that would override `tls` (node-postgres lets the URL win over the options). */
const TLS_PARAMETERS = ['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslca', 'sslnegotiation'];
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL with its password replaced, for messages and logs. Unparseable URLs print as a marker. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparseable PostgreSQL URL)';
  }
}

const NOT_POSTGRES = '(a URL that is not postgres://)';

/** Where the store lives, for messages: host, port and database, no credentials. */
export function describeLocation(url: string, schema?: string): string {
  try {
    const parsed = new URL(url);
    // Another scheme parses differently: `fleet:hunter2@db/x` has the password in its path.
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return NOT_POSTGRES;
    const where = `postgres://${parsed.host}${parsed.pathname}`;
    return schema === undefined ? where : `${where} (schema ${schema})`;
  } catch {
    return redactUrl(url);
  }
}

/**
 * The rules a store URL must meet, checked at open and by `forgejo-fleet validate-config`: a
 * postgres:// URL, and TLS only in `store.tls`. Throws InvalidArgumentError (field `url`) that
 * never echoes the text, which may hold a password.
 */
export function checkPostgresUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the text: it may hold a password.
    throw new InvalidArgumentError('url', 'not a URL; expected postgres://user:password@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidArgumentError('url', `expected a postgres:// URL, got ${parsed.protocol}//…`);
  }
  const tlsInUrl = TLS_PARAMETERS.filter((name) => parsed.searchParams.has(name));
  if (tlsInUrl.length > 0) {
    throw new InvalidArgumentError(
      'url',
      `remove ${tlsInUrl.join(', ')} from the URL and set store.tls instead (one place for TLS)`,
    );
  }
  return parsed;
}

function ssl(tls: PostgresTls): pg.PoolConfig['ssl'] {
  if (tls.mode === 'disable') return false;
  if (tls.mode === 'require') return { rejectUnauthorized: false };
  if (tls.caFile === undefined) return { rejectUnauthorized: true };
  try {
    return { rejectUnauthorized: true, ca: readFileSync(tls.caFile, 'utf8') };
  } catch (error) {
    throw new StoreError(`store.tls.ca_file ${tls.caFile} cannot be read: ${(error as Error).message}`);
  }
}

const INT8_OID = 20;

/**
 * bigint columns (epoch milliseconds, counts, sequence numbers) as numbers, like SQLite's
 * integers; a value beyond 2^53 stays a string, so the row mapping reports it as corrupt instead
 * of rounding it.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID && format !== 'binary') {
      return (text: string) => {
        const value = Number(text);
        return Number.isSafeInteger(value) ? value : text;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export function createPool(options: PoolOptions): pg.Pool {
  checkPostgresUrl(options.url);
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new InvalidArgumentError('schema', 'expected a lowercase SQL identifier');
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    statement_timeout: options.statementTimeoutMs,
    // A lock wait is a statement too; without this a stuck lock holder would hold every writer.
    lock_timeout: options.statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 4, 10_000),
    connectionTimeoutMillis: options.connectTimeoutMs,
    ssl: ssl(options.tls),
    types,
    application_name: options.applicationName ?? 'forgejo-fleet',
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // Without a listener, an idle connection's error (a server restart) would crash the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}
