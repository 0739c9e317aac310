import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import { CopyMismatchError, copySqliteToPostgres, TargetNotEmptyError } from './copy-to-postgres.js';
import { StoreError, StoreLockedError } from './errors.js';
import type { PostgresStore } from './postgres/store.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';
import { describePostgres } from './testing/postgres.js';
import type { Store } from './types.js';

let dir: string;
let path: string;
const opened: (Store | SqliteStore)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-copy-'));
  path = join(dir, 'dispatcher.db');
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A single-host fleet's store as it looks mid-day: ended and live dispatches (one on a warm VM),
 * decisions, warm VMs in every kind of state, and a manual dispatch without a handle.
 */
async function fleetStore(): Promise<string> {
  const store = openSqliteStore(path, { newStoreId: () => 's0123456789abcdef', now: () => T0 });
  await store.insert(newDispatch('d-done'));
  await store.transition('d-done', ['accepted'], 'registering', T0 + 1, {
    runner: { id: 1, uuid: 'u-1', name: 'r-1' },
  });
  await store.transition('d-done', ['registering'], 'provisioning', T0 + 2);
  await store.transition('d-done', ['provisioning'], 'booting', T0 + 3, {
    provider: 'hetzner',
    instance_id: 'i-1',
    machine: 'cpx22@fsn1',
    hourly_price: 0.0123,
  });
  await store.transition('d-done', ['booting'], 'running', T0 + 4);
  await store.transition('d-done', ['running'], 'finished', T0 + 5, { reason: 'job done' });
  await store.insert(newDispatch('d-failed', { at: T0 + 10 }));
  await store.transition('d-failed', ['accepted'], 'failed', T0 + 11, { error: 'no capacity', retries: 2 });
  await store.insert(newDispatch('d-booting', { at: T0 + 20, labels: ['linux', 'large'], scope: 'org:b' }));
  await store.transition('d-booting', ['accepted'], 'registering', T0 + 21, {
    runner: { id: 2, uuid: 'u-2', name: 'r-2' },
  });
  await store.transition('d-booting', ['registering'], 'provisioning', T0 + 22);
  await store.transition('d-booting', ['provisioning'], 'booting', T0 + 23, {
    provider: 'aws',
    instance_id: 'i-2',
  });
  await store.insert(newDispatch('d-manual', { handle: null, at: T0 + 30 }));
  await store.insert(newDispatch('d-warm', { at: T0 + 40, route: 'small' }));
  for (const id of ['w-idle', 'w-claimed', 'w-retired', 'w-creating']) {
    await store.insertWarm({ id, route: 'small', provider: 'hetzner', secret_hash: `hash-${id}`, at: T0 });
  }
  for (const id of ['w-idle', 'w-claimed', 'w-retired']) {
    await store.updateWarm(id, ['creating'], 'booting', T0 + 1, {
      instance_id: `i-${id}`,
      hourly_price: 0.5,
    });
    await store.updateWarm(id, ['booting'], 'idle', T0 + 2);
  }
  await store.claimWarm('small', 'd-warm', T0 + 41);
  await store.updateWarm('w-retired', ['idle'], 'retired', T0 + 50, { reason: 'recycled' });
  await store.appendDecision({ at: T0, kind: 'create', reason: 'first choice', dispatch_id: 'd-done' });
  await store.appendDecision({
    at: T0 + 11,
    kind: 'create-failed',
    reason: 'capacity',
    dispatch_id: 'd-failed',
    route: 'default',
    scope: 'org:acme',
    provider: 'hetzner',
    choice: 'cpx22@fsn1',
    attempt: 1,
    error_class: 'capacity',
    cost: 0.0123,
  });
  await store.appendDecision({ at: T0 + 60, kind: 'delete', reason: 'orphan swept' });
  await store.close();
  return 's0123456789abcdef';
}

/** Everything a dispatcher reads back, in one comparable shape. */
async function view(store: Store) {
  const ids = ['d-done', 'd-failed', 'd-booting', 'd-manual', 'd-warm'];
  return {
    storeId: store.storeId,
    records: await Promise.all(ids.map((id) => store.get(id))),
    byHandle: await store.getByHandle('h-d-booting'),
    live: await store.listLive(),
    counts: await store.countLive(),
    page: await store.list({ limit: 100 }),
    warm: await Promise.all(
      ['w-idle', 'w-claimed', 'w-retired', 'w-creating'].map((id) => store.getWarm(id)),
    ),
    warmLive: await store.listWarm(),
    decisions: await store.listDecisions({ limit: 100 }),
    usage: await store.usage(T0, T0 + 3_600_000),
  };
}

describePostgres('copySqliteToPostgres', (db) => {
  async function target(schema?: string) {
    return { url: db.url, tls: { mode: 'disable' as const }, schema: schema ?? (await db.schema()) };
  }

  async function openTarget(schema: string): Promise<PostgresStore> {
    const store = await db.open({ schema });
    opened.push(store);
    return store;
  }

  it('copies every record into an empty database: the same records, store id and reconciler view', async () => {
    const storeId = await fleetStore();
    const postgres = await target();

    const result = await copySqliteToPostgres({ sqlitePath: path, postgres, now: () => T0 });

    expect(result).toEqual({
      storeId,
      replacedStoreId: undefined,
      location: expect.stringContaining(`(schema ${postgres.schema})`),
      rows: { meta: 1, dispatches: 5, transitions: 14, decisions: 3, warm_vms: 4 },
    });
    const sqlite = openSqliteStore(path);
    opened.push(sqlite);
    const copy = await openTarget(postgres.schema);
    const before = await view(sqlite);
    expect(before.live.map((r) => r.id).sort()).toEqual(['d-booting', 'd-manual', 'd-warm']);
    expect(await view(copy)).toEqual(before);
  });

  it('keeps working after the copy: decision numbers continue and a known handle stays taken', async () => {
    await fleetStore();
    const postgres = await target();
    await copySqliteToPostgres({ sqlitePath: path, postgres });
    const copy = await openTarget(postgres.schema);

    const next = await copy.appendDecision({ at: T0 + 70, kind: 'create', reason: 'after the move' });
    const again = await copy.insert(newDispatch('d-other', { handle: 'h-d-booting' }));

    expect(next.seq).toBe(4);
    expect(again).toMatchObject({ created: false, record: { id: 'd-booting' } });
  });

  it('takes the source store id over the id of an empty target a dispatcher opened before', async () => {
    const storeId = await fleetStore();
    const postgres = await target();
    const early = await openTarget(postgres.schema);
    const earlyId = early.storeId;
    await early.close();
    opened.splice(opened.indexOf(early), 1);

    const result = await copySqliteToPostgres({ sqlitePath: path, postgres });

    expect(result).toMatchObject({ storeId, replacedStoreId: earlyId });
    expect((await openTarget(postgres.schema)).storeId).toBe(storeId);
  });

  it('refuses a target that holds a fleet already, and changes nothing there', async () => {
    await fleetStore();
    const postgres = await target();
    const used = await openTarget(postgres.schema);
    await used.insert(newDispatch('d-theirs'));

    const copy = copySqliteToPostgres({ sqlitePath: path, postgres });

    await expect(copy).rejects.toThrow(TargetNotEmptyError);
    await expect(copy).rejects.toThrow(/already holds 1 dispatches/);
    expect((await used.list({ limit: 10 })).items.map((r) => r.id)).toEqual(['d-theirs']);
    expect(await used.listDecisions({ limit: 10 })).toEqual([]);
  });

  it('refuses while a dispatcher holds the SQLite store, before touching the target', async () => {
    await fleetStore();
    const running = openSqliteStore(path, { lock: true });
    opened.push(running);
    const postgres = await target();

    await expect(copySqliteToPostgres({ sqlitePath: path, postgres })).rejects.toThrow(StoreLockedError);
    const { rows } = await db.sql(
      'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
      [postgres.schema],
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses a path without a store instead of copying a new empty one', async () => {
    const postgres = await target();

    await expect(copySqliteToPostgres({ sqlitePath: path, postgres })).rejects.toThrow(
      new StoreError(`${path}: no SQLite store there`),
    );
    expect(existsSync(path)).toBe(false);
  });

  it('rolls back whole when the target cannot take a column, leaving the target empty', async () => {
    await fleetStore();
    const postgres = await target();
    await openTarget(postgres.schema);
    await db.sql(`ALTER TABLE ${postgres.schema}.warm_vms DROP COLUMN claimed_at`);

    await expect(copySqliteToPostgres({ sqlitePath: path, postgres })).rejects.toThrow(
      new CopyMismatchError(
        'warm_vms: the target has no column claimed_at; use the same forgejo-fleet version for both stores',
      ),
    );
    const { rows } = await db.sql(`SELECT count(*)::int AS n FROM ${postgres.schema}.dispatches`);
    expect(rows[0].n).toBe(0);
  });
});
