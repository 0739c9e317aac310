import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { encodeCursor } from '../cursor.js';
import { InvalidArgumentError, InvalidCursorError } from '../errors.js';
import { routeScopeKey } from '../live-counts.js';
import type { DispatchRecord, ListQuery, Store } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

async function listAll(store: Store, query: Omit<ListQuery, 'cursor'>): Promise<DispatchRecord[][]> {
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
async function seed(store: Store): Promise<void> {
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

/** list (filters, keyset pages, cursors), listLive and countLive. */
export function listCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);
  describe('list', () => {
    it('returns newest first with id breaking ties, across pages without gaps or repeats', async () => {
      const store = await fresh();
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
      const store = await fresh();
      await seed(store);

      const page = await store.list({ limit: 12 });

      expect(page.items).toHaveLength(12);
      expect(page.next_cursor).toBeNull();
    });

    it('answers an empty store with an empty page', async () => {
      expect(await (await fresh()).list({ limit: 1 })).toEqual({ items: [], next_cursor: null });
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
      const store = await fresh();
      await seed(store);

      const pages = await listAll(store, { ...filter, limit: 2 });

      expect(pages.flat().map((record) => record.id)).toEqual(ids);
      expect(pages.every((page) => page.length <= 2)).toBe(true);
    });

    it('keeps paging stable while new dispatches arrive between pages', async () => {
      const store = await fresh();
      await seed(store);
      const first = await store.list({ limit: 4 });

      await store.insert(newDispatch('z-new', { at: T0 + 100 }));
      const second = await store.list({ limit: 4, cursor: first.next_cursor ?? undefined });

      expect(second.items.map((record) => record.id)).toEqual(['d07', 'd06', 'd05', 'd04']);
    });

    it('rejects a malformed cursor with InvalidCursorError', async () => {
      const store = await fresh();

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
      const store = await fresh();

      await expect(store.list({ limit })).rejects.toMatchObject({
        name: 'InvalidArgumentError',
        field: 'limit',
      });
    });

    it('rejects an unknown state filter', async () => {
      const store = await fresh();
      const query = { limit: 5, state: 'lost' } as unknown as ListQuery;

      await expect(store.list(query)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('live dispatches', () => {
    it('lists only live dispatches, oldest first', async () => {
      const store = await fresh();
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
      const store = await fresh();
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
      const counts = await (await fresh()).countLive();

      expect(counts).toEqual({ total: 0, byRoute: new Map(), byScope: new Map(), byRouteScope: new Map() });
    });
  });
}
