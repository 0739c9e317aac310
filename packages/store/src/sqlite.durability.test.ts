import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';
import { LAZY_WRITE } from './types.js';

let dir: string;
let store: SqliteStore;
let db: Database.Database;

/**
 * Every row a write makes records the connection's `synchronous` level as its commit runs, through
 * TEMP triggers added by the connection seam: 2 = FULL (fsynced), 1 = NORMAL (lazy).
 */
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-durability-'));
  const path = join(dir, 'fleet.sqlite');
  await openSqliteStore(path).close(); // the schema, so the triggers have tables to watch
  store = openSqliteStore(path, {
    connection: (connection) => {
      db = connection;
      db.exec(`
        CREATE TEMP TABLE commits (what TEXT, level INTEGER);
        CREATE TEMP TRIGGER on_transition AFTER INSERT ON main.transitions BEGIN
          INSERT INTO commits SELECT 'dispatch ' || NEW.state, synchronous FROM pragma_synchronous;
        END;
        CREATE TEMP TRIGGER on_decision AFTER INSERT ON main.decisions BEGIN
          INSERT INTO commits SELECT 'decision', synchronous FROM pragma_synchronous;
        END;
        CREATE TEMP TRIGGER on_warm_insert AFTER INSERT ON main.warm_vms BEGIN
          INSERT INTO commits SELECT 'warm ' || NEW.state, synchronous FROM pragma_synchronous;
        END;
        CREATE TEMP TRIGGER on_warm_update AFTER UPDATE OF state ON main.warm_vms BEGIN
          INSERT INTO commits SELECT 'warm ' || NEW.state, synchronous FROM pragma_synchronous;
        END;`);
    },
  });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function commits(): { what: string; level: number }[] {
  return db.prepare('SELECT what, level FROM commits ORDER BY rowid').all() as never;
}

describe('which writes are synced', () => {
  it('syncs the intent and every transition unless the caller says lazy; decisions are lazy', async () => {
    await store.insert(newDispatch('d1'));
    await store.transition('d1', ['accepted'], 'registering', T0 + 1, {}, LAZY_WRITE);
    await store.transition('d1', ['registering'], 'provisioning', T0 + 2, {
      runner: { id: 1, uuid: 'u', name: 'r' },
    });
    await store.transition('d1', ['provisioning'], 'booting', T0 + 3, { provider: 'p' }, LAZY_WRITE);
    await store.transition('d1', ['booting'], 'running', T0 + 4, {}, { durable: true });
    await store.appendDecision({ kind: 'create', reason: 'made', at: T0 + 5, dispatch_id: 'd1' });

    expect(commits()).toEqual([
      { what: 'dispatch accepted', level: 2 },
      { what: 'dispatch registering', level: 1 },
      { what: 'dispatch provisioning', level: 2 },
      { what: 'dispatch booting', level: 1 },
      { what: 'dispatch running', level: 2 },
      { what: 'decision', level: 1 },
    ]);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('syncs every warm pool write: a pool VM is created and handed a job on the strength of it', async () => {
    await store.insertWarm({ id: 'w1', route: 'small', provider: 'p', secret_hash: 'h', at: T0 });
    await store.updateWarm('w1', ['creating'], 'booting', T0 + 1, { instance_id: 'i-1', machine: 'm' });
    await store.updateWarm('w1', ['booting'], 'idle', T0 + 2);
    await store.claimWarm('small', 'd1', T0 + 3);

    expect(commits()).toEqual([
      { what: 'warm creating', level: 2 },
      { what: 'warm booting', level: 2 },
      { what: 'warm idle', level: 2 },
      { what: 'warm claimed', level: 2 },
    ]);
  });

  it('leaves the connection lazy after a synced write that fails', async () => {
    await store.insert(newDispatch('d1'));

    await expect(store.insert(newDispatch('d1', { handle: 'another' }))).rejects.toThrow();

    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });
});
