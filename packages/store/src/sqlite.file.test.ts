import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import { CorruptRecordError, UnsupportedSchemaError } from './errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';

let dir: string;
let path: string;
const opened: SqliteStore[] = [];

function open(now = () => T0): SqliteStore {
  const store = openSqliteStore(path, { now });
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-store-'));
  path = join(dir, 'fleet.sqlite');
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a file database', () => {
  it('keeps records and history across close and reopen', async () => {
    const first = open();
    await first.insert(newDispatch('d1'));
    const before = await first.transition('d1', ['accepted'], 'registering', T0 + 1, { reason: 'r' });
    await first.close();

    const second = open();

    expect(await second.get('d1')).toEqual(before);
    expect(await second.insert(newDispatch('d2', { handle: 'h-d1' }))).toMatchObject({ created: false });
  });

  it('keeps the intent written before an outside call when the process is killed', async () => {
    const script = fileURLToPath(new URL('./__fixtures__/crash-after-insert.ts', import.meta.url));

    const child = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script, path], {
      encoding: 'utf8',
    });

    expect(child.signal).toBe('SIGKILL');
    const record = await open().getByHandle('h-crash');
    expect(record?.state).toBe('registering');
    expect(record?.transitions.map((t) => t.state)).toEqual(['accepted', 'registering']);
  });

  it('migrates once, and reopening changes nothing', async () => {
    const first = open(() => T0);
    await first.close();

    const second = open(() => T0 + 60_000);
    await second.close();

    expect(first.migration).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION });
    expect(second.migration).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION });
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version, applied_at FROM schema_migrations').all()).toEqual(
      MIGRATIONS.map((migration) => ({ version: migration.version, applied_at: T0 })),
    );
    db.close();
  });

  it('refuses to open a schema from a newer build', () => {
    open();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();

    expect(() => openSqliteStore(path)).toThrow(UnsupportedSchemaError);
  });
});

describe('two connections to one file', () => {
  it('give a handle one record whichever connection inserts it', async () => {
    const a = open();
    const b = open();

    const results = await Promise.all([
      a.insert(newDispatch('from-a', { handle: 'h' })),
      b.insert(newDispatch('from-b', { handle: 'h' })),
      a.insert(newDispatch('from-a2', { handle: 'h' })),
    ]);

    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.record.id)).size).toBe(1);
  });

  it('let one compare-and-set win', async () => {
    const a = open();
    const b = open();
    await a.insert(newDispatch('d1'));

    const results = await Promise.all([
      a.transition('d1', ['accepted'], 'registering', T0 + 1),
      b.transition('d1', ['accepted'], 'cancelled', T0 + 1),
    ]);

    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
    expect((await b.get('d1'))?.transitions).toHaveLength(2);
  });
});

describe('a corrupt row', () => {
  it.each([
    ['labels', "UPDATE dispatches SET labels = '{oops' WHERE id = 'd1'", 'labels'],
    ['job', `UPDATE dispatches SET job = '{"handle":"h-d1"}' WHERE id = 'd1'`, 'job.id'],
    ['state', "UPDATE dispatches SET state = 'lost' WHERE id = 'd1'", 'state'],
    ['history', "UPDATE transitions SET state = 'lost' WHERE dispatch_id = 'd1'", 'transitions.0.state'],
  ])('in %s fails reads with the dispatch id and field', async (_name, sql, field) => {
    const store = open();
    await store.insert(newDispatch('d1'));
    const db = new Database(path);
    db.exec(sql);
    db.close();

    const error = await store.get('d1').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ dispatchId: 'd1', field });
    expect((error as Error).message).toMatch(/^dispatch d1: stored /);
    await expect(store.list({ limit: 10 })).rejects.toBeInstanceOf(CorruptRecordError);
  });
});
