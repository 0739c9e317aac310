import type { Database } from 'better-sqlite3';
import { UnsupportedSchemaError } from './errors.js';

export interface Migration {
  /** 1, 2, 3…: becomes `PRAGMA user_version` once applied. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Forward-only and append-only: a shipped migration is never edited (databases in the field have
 * already run it); a later change is a new entry. States are not a CHECK constraint because SQLite
 * cannot alter one without rebuilding the table; the row mapping validates them on read instead.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'dispatches and transitions',
    sql: `
      CREATE TABLE schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE dispatches (
        id          TEXT    NOT NULL PRIMARY KEY,
        -- UNIQUE lets many NULLs through: manual dispatches carry no handle.
        handle      TEXT    UNIQUE,
        scope       TEXT    NOT NULL,
        labels      TEXT    NOT NULL, -- JSON array of strings
        route       TEXT    NOT NULL,
        client      TEXT    NOT NULL,
        job         TEXT,             -- JSON object or NULL
        state       TEXT    NOT NULL,
        runner      TEXT,             -- JSON object or NULL
        provider    TEXT,
        instance_id TEXT,
        error       TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;

      -- A table rather than a JSON column: appending a transition is one small insert instead of
      -- rewriting the whole history, and the history stays queryable (time spent per state).
      CREATE TABLE transitions (
        dispatch_id TEXT    NOT NULL REFERENCES dispatches (id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        state       TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        reason      TEXT,
        PRIMARY KEY (dispatch_id, seq)
      ) STRICT, WITHOUT ROWID;

      -- Keyset pagination walks (created_at, id) newest first, optionally within one filter.
      CREATE INDEX dispatches_by_created ON dispatches (created_at, id);
      CREATE INDEX dispatches_by_state ON dispatches (state, created_at, id);
      CREATE INDEX dispatches_by_scope ON dispatches (scope, created_at, id);
      CREATE INDEX dispatches_by_route ON dispatches (route, created_at, id);

      -- Covers countLive without touching the table and stays small however many finished rows
      -- pile up. state is in the key only to make it covering (SQLite would otherwise re-read
      -- each row to test the predicate). Queries must repeat the predicate verbatim to use it.
      CREATE INDEX dispatches_live_by_route_scope ON dispatches (route, scope, state)
        WHERE state IN ('accepted', 'registering', 'provisioning', 'booting', 'running');
    `,
  },
  {
    version: 2,
    name: 'machine choice, retries and the decision log',
    sql: `
      -- The machine choice the VM was made with and its hourly price at the time, for budgets.
      ALTER TABLE dispatches ADD COLUMN machine TEXT;
      ALTER TABLE dispatches ADD COLUMN hourly_price REAL;
      -- How often the job was given a fresh VM after a pickup timeout.
      ALTER TABLE dispatches ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;

      -- Append-only: every create, delete, refusal, fallback and adoption, with why.
      CREATE TABLE decisions (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        dispatch_id TEXT,
        route       TEXT,
        scope       TEXT,
        provider    TEXT,
        choice      TEXT,
        attempt     INTEGER,
        error_class TEXT,
        cost        REAL,
        reason      TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX decisions_by_dispatch ON decisions (dispatch_id, seq) WHERE dispatch_id IS NOT NULL;

      -- Budgets sum VM time of dispatches touched since the start of the day.
      CREATE INDEX dispatches_by_updated ON dispatches (updated_at);
    `,
  },
  {
    version: 3,
    name: 'warm pool',
    sql: `
      -- Pre-booted VMs waiting for a job. A row is claimed by at most one dispatch, ever
      -- (dispatch_id UNIQUE, set once by the claim's compare-and-set).
      CREATE TABLE warm_vms (
        id           TEXT    NOT NULL PRIMARY KEY,
        route        TEXT    NOT NULL,
        provider     TEXT    NOT NULL,
        state        TEXT    NOT NULL, -- creating, booting, idle, claimed, assigned, retired
        secret_hash  TEXT,             -- sha256 of the agent's one-time secret; NULL once used
        instance_id  TEXT,
        machine      TEXT,
        hourly_price REAL,
        dispatch_id  TEXT    UNIQUE,
        reason       TEXT,             -- why it was retired
        created_at   INTEGER NOT NULL,
        ready_at     INTEGER,          -- first agent check-in
        claimed_at   INTEGER,
        updated_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX warm_vms_idle ON warm_vms (route, state, ready_at);
    `,
  },
  {
    version: 4,
    name: 'store id, write probe and retention',
    sql: `
      -- Facts about the store itself. store_id (written once, at first open: meta.ts) marks every
      -- VM and runner registration this store's dispatcher makes, so two stores sharing a fleet
      -- id never delete each other's.
      CREATE TABLE meta (
        key   TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- Readiness writes here (probe.ts): it proves the store takes a write, not just a read.
      CREATE TABLE probe (
        id  INTEGER PRIMARY KEY,
        at  INTEGER NOT NULL,
        pad BLOB
      ) STRICT;

      -- Retention deletes old decisions oldest first without scanning the whole log.
      CREATE INDEX decisions_by_at ON decisions (at);
    `,
  },
  {
    version: 5,
    name: 'leases',
    sql: `
      -- Who leads (lease.ts): epoch numbers the terms, and a fenced write checks it (and that
      -- expires_at is still ahead) in its own transaction. expires_at 0: released.
      CREATE TABLE leases (
        name       TEXT    NOT NULL PRIMARY KEY,
        holder     TEXT    NOT NULL,
        epoch      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'live counts',
    sql: `
      -- Live dispatches per (route, scope), kept by triggers in the same transaction as every
      -- write that starts or ends one: the accept limits read a few rows here instead of
      -- walking every live dispatch twice per accept (0.1 ms at 1,000 live, 1 ms at 10,000).
      -- Rows at 0 stay (one per pair ever used); readers skip them.
      CREATE TABLE live_counts (
        route TEXT    NOT NULL,
        scope TEXT    NOT NULL,
        n     INTEGER NOT NULL CHECK (n >= 0),
        PRIMARY KEY (route, scope)
      ) STRICT, WITHOUT ROWID;

      INSERT INTO live_counts (route, scope, n)
        SELECT route, scope, count(*) FROM dispatches
         WHERE state IN ('accepted', 'registering', 'provisioning', 'booting', 'running')
         GROUP BY route, scope;

      CREATE TRIGGER live_counts_on_insert AFTER INSERT ON dispatches
        WHEN NEW.state IN ('accepted', 'registering', 'provisioning', 'booting', 'running')
      BEGIN
        INSERT INTO live_counts (route, scope, n) VALUES (NEW.route, NEW.scope, 1)
          ON CONFLICT (route, scope) DO UPDATE SET n = n + 1;
      END;

      CREATE TRIGGER live_counts_on_delete AFTER DELETE ON dispatches
        WHEN OLD.state IN ('accepted', 'registering', 'provisioning', 'booting', 'running')
      BEGIN
        UPDATE live_counts SET n = n - 1 WHERE route = OLD.route AND scope = OLD.scope;
      END;

      -- Only countLive read it; one B-tree fewer for every write that starts or ends a dispatch.
      DROP INDEX dispatches_live_by_route_scope;

      -- Fires on every change of state, route or scope, live or not: the body moves the count
      -- only where the old or the new row is live.
      CREATE TRIGGER live_counts_on_update AFTER UPDATE OF state, route, scope ON dispatches
      BEGIN
        UPDATE live_counts SET n = n - 1
         WHERE route = OLD.route AND scope = OLD.scope
           AND OLD.state IN ('accepted', 'registering', 'provisioning', 'booting', 'running');
        INSERT INTO live_counts (route, scope, n)
          SELECT NEW.route, NEW.scope, 1
           WHERE NEW.state IN ('accepted', 'registering', 'provisioning', 'booting', 'running')
          ON CONFLICT (route, scope) DO UPDATE SET n = n + 1;
      END;
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the schema to `LATEST_SCHEMA_VERSION` in one IMMEDIATE transaction: the version is read
 * under the write lock, so two processes opening the same file at once apply each migration once,
 * and a failing migration leaves the previous schema intact.
 */
export function migrate(
  db: Database,
  now: () => number,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationResult {
  const latest = migrations.at(-1)?.version ?? 0;
  const run = db.transaction((): MigrationResult => {
    const from = schemaVersion(db);
    if (from > latest)
      throw new UnsupportedSchemaError(from, latest, db.name === ':memory:' ? undefined : db.name);
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        now(),
      );
      // A pragma takes no bound parameters; the version is an integer from our own table.
      db.pragma(`user_version = ${Math.trunc(migration.version)}`);
    }
    return { from, to: Math.max(from, latest) };
  });
  return run.immediate();
}
