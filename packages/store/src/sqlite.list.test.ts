import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import { openDatabase } from './connection.js';
import { encodeCursor } from './cursor.js';
import { InvalidArgumentError, InvalidCursorError } from './errors.js';
import { routeScopeKey } from './live-counts.js';
import { migrate } from './migrations.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';
import { prepareStatements } from './statements.js';
import type { DispatchRecord, ListQuery } from './types.js';

function memoryStore(): SqliteStore {
  return openSqliteStore(':memory:', { now: () => T0 });
}

async function listAll(store: SqliteStore, query: Omit<ListQuery, 'cursor'>): Promise<DispatchRecord[][]> {
  const pages: DispatchRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...query, cursor });
    pages.push([...page.items]);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

/** 12 dispatches, three per millisecond, so ties on created_at are the rule. */
async function seed(store: SqliteStore): Promise<void> {
  for (let i = 0; i < 12; i++) {
    await store.insert(
      newDispatch(`d${String(i).padStart(2, '0')}`, {
        at: T0 + Math.floor(i / 3),
        route: i % 2 === 0 ? 'small' : 'large',
        scope: i % 3 === 0 ? 'org:a' : 'org:b',
      }),
    );
  }
  await store.transition('d00', ['accepted'], 'failed', T0 + 10);
  await store.transition('d05', ['accepted'], 'registering', T0 + 10);
  await store.transition('d07', ['accepted'], 'cancelled', T0 + 10);
}

describe('list', () => {
  it('returns newest first with id breaking ties, across pages without gaps or repeats', async () => {
    const store = memoryStore();
    await seed(store);

    const pages = await listAll(store, { limit: 5 });

    expect(pages.map((page) => page.length)).toEqual([5, 5, 2]);
    expect(pages.flat().map((record) => record.id)).toEqual([
      'd11',
      'd10',
      'd09',
      'd08',
      'd07',
      'd06',
      'd05',
      'd04',
      'd03',
      'd02',
      'd01',
      'd00',
    ]);
  });

  it('gives no cursor when the page ends exactly at the last item', async () => {
    const store = memoryStore();
    await seed(store);

    const page = await store.list({ limit: 12 });

    expect(page.items).toHaveLength(12);
    expect(page.next_cursor).toBeNull();
  });

  it('answers an empty store with an empty page', async () => {
    expect(await memoryStore().list({ limit: 1 })).toEqual({ items: [], next_cursor: null });
  });

  it.each([
    [{ state: 'accepted' }, ['d11', 'd10', 'd09', 'd08', 'd06', 'd04', 'd03', 'd02', 'd01']],
    [{ state: 'failed' }, ['d00']],
    [{ route: 'large' }, ['d11', 'd09', 'd07', 'd05', 'd03', 'd01']],
    [{ scope: 'org:a' }, ['d09', 'd06', 'd03', 'd00']],
    [{ scope: 'org:a', route: 'small' }, ['d06', 'd00']],
    [{ state: 'accepted', scope: 'org:b', route: 'large' }, ['d11', 'd01']],
    [{ scope: 'org:nobody' }, []],
  ] as const)('filters by %j, paging two at a time', async (filter, ids) => {
    const store = memoryStore();
    await seed(store);

    const pages = await listAll(store, { ...filter, limit: 2 });

    expect(pages.flat().map((record) => record.id)).toEqual(ids);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
  });

  it('keeps paging stable while new dispatches arrive between pages', async () => {
    const store = memoryStore();
    await seed(store);
    const first = await store.list({ limit: 4 });

    await store.insert(newDispatch('z-new', { at: T0 + 100 }));
    const second = await store.list({ limit: 4, cursor: first.next_cursor ?? undefined });

    expect(second.items.map((record) => record.id)).toEqual(['d07', 'd06', 'd05', 'd04']);
  });

  it('rejects a malformed cursor with InvalidCursorError', async () => {
    const store = memoryStore();

    await expect(store.list({ limit: 5, cursor: 'definitely not a cursor' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
    await expect(
      store.list({ limit: 5, cursor: encodeCursor({ created_at: T0, id: 'x' }) }),
    ).resolves.toEqual({
      items: [],
      next_cursor: null,
    });
  });

  it.each([0, 501, 2.5, Number.NaN])('rejects limit %s naming the field', async (limit) => {
    const store = memoryStore();

    await expect(store.list({ limit })).rejects.toMatchObject({
      name: 'InvalidArgumentError',
      field: 'limit',
    });
  });

  it('rejects an unknown state filter', async () => {
    const store = memoryStore();
    const query = { limit: 5, state: 'lost' } as unknown as ListQuery;

    await expect(store.list(query)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('live dispatches', () => {
  it('lists only live dispatches, oldest first', async () => {
    const store = memoryStore();
    await seed(store);

    const live = await store.listLive();

    expect(live.map((record) => record.id)).toEqual([
      'd01',
      'd02',
      'd03',
      'd04',
      'd05',
      'd06',
      'd08',
      'd09',
      'd10',
      'd11',
    ]);
  });

  it('counts live dispatches by route, scope and both', async () => {
    const store = memoryStore();
    await seed(store);

    const counts = await store.countLive();

    expect(counts.total).toBe(10);
    expect(counts.byRoute).toEqual(
      new Map([
        ['small', 5],
        ['large', 5],
      ]),
    );
    expect(counts.byScope).toEqual(
      new Map([
        ['org:a', 3],
        ['org:b', 7],
      ]),
    );
    expect(counts.byRouteScope.get(routeScopeKey('small', 'org:a'))).toBe(1);
    expect(counts.byRouteScope.get(routeScopeKey('large', 'org:b'))).toBe(3);
    expect(counts.byRouteScope.get(routeScopeKey('small', 'org:b'))).toBe(4);
    expect(counts.byRouteScope.get(routeScopeKey('large', 'org:a'))).toBe(2);
  });

  it('counts zero on an empty store', async () => {
    const counts = await memoryStore().countLive();

    expect(counts).toEqual({ total: 0, byRoute: new Map(), byScope: new Map(), byRouteScope: new Map() });
  });
});

describe('query plans', () => {
  function plan(db: Database, sql: string): string {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[];
    return rows.map((row) => row.detail).join('\n');
  }

  function migrated(): Database {
    const db = openDatabase(':memory:');
    migrate(db, () => T0);
    return db;
  }

  it('counts live dispatches from the covering partial index alone', () => {
    const db = migrated();
    const source = prepareStatements(db).countLive.source;

    expect(plan(db, source)).toContain('USING COVERING INDEX dispatches_live_by_route_scope');
  });

  it.each([
    ['state', 'dispatches_by_state'],
    ['scope', 'dispatches_by_scope'],
    ['route', 'dispatches_by_route'],
  ])('pages a %s filter through its index without sorting', (field, index) => {
    const db = migrated();
    const sql = `SELECT id FROM dispatches d WHERE d.${field} = 'x' AND (d.created_at, d.id) < (1, 'a')
                 ORDER BY d.created_at DESC, d.id DESC LIMIT 10`;

    const detail = plan(db, sql);

    expect(detail).toContain(index);
    expect(detail).not.toContain('TEMP B-TREE');
  });
});
