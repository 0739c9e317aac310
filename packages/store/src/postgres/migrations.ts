import type pg from 'pg';
import { UnsupportedSchemaError } from '../errors.js';
import type { Migration, MigrationResult } from '../migrations.js';
import { LIVE_STATES_SQL } from '../statements.js';
import { DISPATCH_STATES, WARM_STATES } from '../types.js';
import { DISPATCH_FUNCTIONS_V3 } from './dispatch-functions.js';

const quoted = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');

/**
 * The PostgreSQL schema, versioned like SQLite's (forward-only, append-only; a shipped entry is
 * never edited). Version 1 is the whole of SQLite's version 4 in PostgreSQL types: times are
 * bigint epoch milliseconds as in SQLite (the row mapping is shared), JSON columns are jsonb,
 * text keys use the "C" collation so ids order and compare byte by byte as in SQLite (keyset
 * cursors and ties behave the same on both). Uniqueness is by constraint (handle, a warm VM's
 * dispatch), so several replicas writing at once cannot break it.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'dispatches, transitions, decisions, warm pool, store id and probe',
    sql: `
      CREATE TABLE dispatches (
        id           text COLLATE "C" NOT NULL PRIMARY KEY,
        -- UNIQUE lets many NULLs through: manual dispatches carry no handle.
        handle       text COLLATE "C" UNIQUE,
        scope        text COLLATE "C" NOT NULL,
        labels       jsonb  NOT NULL,
        route        text COLLATE "C" NOT NULL,
        client       text   NOT NULL,
        job          jsonb,
        state        text   NOT NULL CHECK (state IN (${quoted(DISPATCH_STATES)})),
        runner       jsonb,
        provider     text,
        instance_id  text,
        error        text,
        machine      text,
        hourly_price double precision,
        retries      integer NOT NULL DEFAULT 0,
        created_at   bigint NOT NULL,
        updated_at   bigint NOT NULL
      );

      CREATE TABLE transitions (
        dispatch_id text COLLATE "C" NOT NULL REFERENCES dispatches (id) ON DELETE CASCADE,
        seq         integer NOT NULL,
        state       text    NOT NULL,
        at          bigint  NOT NULL,
        reason      text,
        PRIMARY KEY (dispatch_id, seq)
      );

      CREATE INDEX dispatches_by_created ON dispatches (created_at, id);
      CREATE INDEX dispatches_by_state ON dispatches (state, created_at, id);
      CREATE INDEX dispatches_by_scope ON dispatches (scope, created_at, id);
      CREATE INDEX dispatches_by_route ON dispatches (route, created_at, id);
      CREATE INDEX dispatches_by_updated ON dispatches (updated_at);
      CREATE INDEX dispatches_live_by_route_scope ON dispatches (route, scope)
        WHERE state IN ${LIVE_STATES_SQL};

      -- Append-only: every create, delete, refusal, fallback and adoption, with why.
      CREATE TABLE decisions (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          bigint NOT NULL,
        kind        text   NOT NULL,
        dispatch_id text COLLATE "C",
        route       text,
        scope       text COLLATE "C",
        provider    text,
        choice      text,
        attempt     integer,
        error_class text,
        cost        double precision,
        reason      text   NOT NULL
      );
      CREATE INDEX decisions_by_dispatch ON decisions (dispatch_id, seq) WHERE dispatch_id IS NOT NULL;
      CREATE INDEX decisions_by_at ON decisions (at);

      -- A row is claimed by at most one dispatch, ever (dispatch_id UNIQUE, set once by the claim).
      CREATE TABLE warm_vms (
        id           text COLLATE "C" NOT NULL PRIMARY KEY,
        route        text COLLATE "C" NOT NULL,
        provider     text   NOT NULL,
        state        text   NOT NULL CHECK (state IN (${quoted(WARM_STATES)})),
        secret_hash  text,
        instance_id  text,
        machine      text,
        hourly_price double precision,
        dispatch_id  text COLLATE "C" UNIQUE,
        reason       text,
        created_at   bigint NOT NULL,
        ready_at     bigint,
        claimed_at   bigint,
        updated_at   bigint NOT NULL
      );
      CREATE INDEX warm_vms_idle ON warm_vms (route, ready_at, id) WHERE state = 'idle';

      CREATE TABLE meta (
        key   text NOT NULL PRIMARY KEY,
        value text NOT NULL
      );

      -- Readiness writes here inside a transaction it rolls back (store.ts ping).
      CREATE TABLE probe (
        id integer PRIMARY KEY,
        at bigint  NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'leases',
    sql: `
      -- Who leads (postgres/lease.ts): epoch numbers the terms; expires_at is epoch milliseconds of
      -- the database server's clock, so replicas with skewed clocks agree. A fenced write locks
      -- the row FOR SHARE and checks both in its own transaction. expires_at 0: released.
      CREATE TABLE leases (
        name       text COLLATE "C" NOT NULL PRIMARY KEY,
        holder     text   NOT NULL,
        epoch      bigint NOT NULL,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'one-round-trip insert and transition functions',
    sql: DISPATCH_FUNCTIONS_V3,
  },
];

export const LATEST_POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0;

/**
 * The advisory lock migrations run under: (a constant, the schema's hash), so two replicas
 * starting together on one schema apply each migration once, and tests in their own schemas do
 * not wait on each other.
 */
const LOCK_CLASS = 0x66_66_6c_74; // "fflt"

/**
 * Brings the schema to the latest version in one transaction under an advisory lock: the version
 * is read under the lock, and a failing migration rolls back whole, leaving the previous schema.
 * A schema newer than this build refuses to open (UnsupportedSchemaError, as for SQLite).
 */
export async function migratePostgres(
  client: pg.PoolClient,
  now: () => number,
  location: string,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<MigrationResult> {
  const latest = migrations.at(-1)?.version ?? 0;
  await client.query('BEGIN');
  try {
    // A migration may rewrite a large table: the pool's short statement timeout is for requests.
    await client.query("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '60s'");
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [LOCK_CLASS]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text    NOT NULL,
        applied_at bigint  NOT NULL
      )`);
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM schema_migrations',
    );
    const from = rows[0]?.version ?? 0;
    if (from > latest) throw new UnsupportedSchemaError(from, latest, location);
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        now(),
      ]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, latest) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
