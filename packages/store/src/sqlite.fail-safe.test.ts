import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import {
  StoreLockedError,
  StoreUnavailableError,
  StoreUnreadableError,
  UnsupportedSchemaError,
} from './errors.js';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite.js';

let dir: string;
let path: string;
const opened: SqliteStore[] = [];

function open(options: SqliteStoreOptions = {}): SqliteStore {
  const store = openSqliteStore(path, { now: () => T0, ...options });
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-failsafe-'));
  path = join(dir, 'fleet.sqlite');
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('opening a store that cannot be used', () => {
  it('names a file that is not a database and says what to do', () => {
    writeFileSync(path, 'this is not a database, just some garbage bytes '.repeat(200));

    const error = (() => {
      try {
        open();
      } catch (caught) {
        return caught;
      }
    })();

    expect(error).toBeInstanceOf(StoreUnreadableError);
    expect(error).toMatchObject({ path, code: 'SQLITE_NOTADB' });
    expect((error as Error).message).toMatch(
      new RegExp(`^store ${path} cannot be read .*restore it from a backup`),
    );
  });

  it('names a store with a newer schema and says to upgrade', async () => {
    const first = open();
    await first.close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();

    expect(() => open()).toThrow(UnsupportedSchemaError);
    expect(() => open()).toThrow(`store ${path}: schema version 99 is newer`);
  });
});

describe('the store id', () => {
  it('is made once with the store and kept across reopening', async () => {
    const ids = ['sfirst', 'ssecond'];
    const first = open({ newStoreId: () => ids.shift() ?? 'sthird' });
    await first.close();

    const second = open({ newStoreId: () => ids.shift() ?? 'sthird' });

    expect(first.storeId).toBe('sfirst');
    expect(second.storeId).toBe('sfirst');
  });

  it('differs between two stores by default', () => {
    const a = openSqliteStore(':memory:');
    const b = openSqliteStore(':memory:');

    expect(a.storeId).toMatch(/^s[0-9a-f]{16}$/);
    expect(a.storeId).not.toBe(b.storeId);
  });
});

describe('the owner lock', () => {
  it('refuses a second dispatcher on the same file until the first closes', async () => {
    const first = open({ lock: { pid: 1234, host: 'x' } });

    expect(() => open({ lock: true })).toThrow(StoreLockedError);
    expect(() => open({ lock: true })).toThrow(`store ${path} is in use by pid 1234 on host x since`);
    await first.close();
    expect(open({ lock: true }).storeId).toBe(first.storeId);
  });

  it('is not taken unless asked: a restart simulated in one process opens the file twice', () => {
    open();

    expect(() => open()).not.toThrow();
  });
});

describe('a full store', () => {
  it('fails writes with SQLITE_FULL as StoreUnavailableError and the probe, then recovers', async () => {
    let db: Database.Database | undefined;
    const store = open({ connection: (connection) => (db = connection) });
    const pages = db?.pragma('page_count', { simple: true }) as number;
    db?.pragma(`max_page_count = ${pages}`);

    const failures: unknown[] = [];
    for (let i = 0; i < 200 && failures.length === 0; i++) {
      await store.insert(newDispatch(`d${i}`)).catch((error: unknown) => failures.push(error));
    }

    expect(failures[0]).toBeInstanceOf(StoreUnavailableError);
    expect(failures[0]).toMatchObject({ code: 'SQLITE_FULL', retryAfter: 5 });
    expect(await store.ping()).toBe(false);

    db?.pragma(`max_page_count = ${pages * 100}`);

    expect(await store.ping()).toBe(true);
    await expect(store.insert(newDispatch('after'))).resolves.toMatchObject({ created: true });
  });

  it('passes the probe while there is room', async () => {
    expect(await open().ping()).toBe(true);
  });
});
