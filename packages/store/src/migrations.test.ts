import { describe, expect, it } from 'vitest';
import { T0 } from './__fixtures__/dispatch.js';
import { openDatabase } from './connection.js';
import { UnsupportedSchemaError } from './errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration, migrate, schemaVersion } from './migrations.js';
import { LIVE_STATES_SQL } from './statements.js';
import { LIVE_STATES } from './types.js';

const ADD_NOTE: Migration = {
  version: LATEST_SCHEMA_VERSION + 1,
  name: 'dispatch note',
  sql: 'ALTER TABLE dispatches ADD COLUMN note TEXT',
};

describe('MIGRATIONS', () => {
  it('numbers versions 1, 2, 3… without gaps', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('spells the live predicate exactly as LIVE_STATES, in the index and in the queries', () => {
    expect(LIVE_STATES_SQL).toBe(`(${LIVE_STATES.map((state) => `'${state}'`).join(', ')})`);
    expect(MIGRATIONS[0]?.sql).toContain(`WHERE state IN ${LIVE_STATES_SQL}`);
  });
});

describe('migrate', () => {
  it('brings a new database to the latest version and logs when', () => {
    const db = openDatabase(':memory:');

    const result = migrate(db, () => T0);

    expect(result).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION });
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.prepare('SELECT version, applied_at FROM schema_migrations').all()).toEqual(
      MIGRATIONS.map((migration) => ({ version: migration.version, applied_at: T0 })),
    );
  });

  it('does nothing the second time', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0);

    const result = migrate(db, () => T0 + 1);

    expect(result).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION });
    expect(db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
  });

  it('upgrades a version 1 database in place, keeping its rows', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0, MIGRATIONS.slice(0, 1));
    db.prepare(
      `INSERT INTO dispatches (id, handle, scope, labels, route, client, job, state, runner, provider,
                              instance_id, error, created_at, updated_at)
       VALUES ('d1', NULL, 'instance', '["linux"]', 'r', 'c', NULL, 'booting', NULL, NULL, NULL, NULL, 1, 1)`,
    ).run();

    const result = migrate(db, () => T0);

    expect(result).toEqual({ from: 1, to: LATEST_SCHEMA_VERSION });
    expect(db.prepare('SELECT id, retries, machine, hourly_price FROM dispatches').all()).toEqual([
      { id: 'd1', retries: 0, machine: null, hourly_price: null },
    ]);
  });

  it('applies only the migrations a database has not seen', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0);

    const result = migrate(db, () => T0 + 1, [...MIGRATIONS, ADD_NOTE]);

    expect(result).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION + 1 });
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').all('dispatches') as {
      name: string;
    }[];
    expect(columns.map((column) => column.name)).toContain('note');
  });

  it('rolls a failing migration back whole, keeping the previous version', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0);
    const broken: Migration = {
      version: LATEST_SCHEMA_VERSION + 1,
      name: 'broken',
      sql: 'CREATE TABLE half (a); SELECT * FROM nowhere',
    };

    expect(() => migrate(db, () => T0, [...MIGRATIONS, broken])).toThrow(/nowhere/);
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
  });

  it('refuses a database from a newer build', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0, [...MIGRATIONS, ADD_NOTE]);

    expect(() => migrate(db, () => T0)).toThrow(UnsupportedSchemaError);
  });
});
