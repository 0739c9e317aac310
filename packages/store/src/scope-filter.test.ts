import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';

function memoryStore(): SqliteStore {
  return openSqliteStore(':memory:', { now: () => T0 });
}

const SCOPES = ['org:a', 'org:b', 'user:c'] as const;

/** 15 dispatches over three scopes, two per millisecond, each with one decision; plus two scope-less decisions. */
async function seed(store: SqliteStore): Promise<void> {
  await store.appendDecision({ at: T0, kind: 'refusal', reason: 'global limit' });
  for (let i = 0; i < 15; i++) {
    const id = `d${String(i).padStart(2, '0')}`;
    const scope = SCOPES[i % 3] ?? 'org:a';
    await store.insert(newDispatch(id, { at: T0 + Math.floor(i / 2), scope }));
    await store.appendDecision({ at: T0 + i, kind: 'create', reason: 'vm created', dispatch_id: id, scope });
  }
  await store.appendDecision({ at: T0 + 20, kind: 'create', reason: 'warm vm created', route: 'small' });
}

describe('scope filters (an API client sees only its scopes)', () => {
  it.each([
    [['org:a'], 5],
    [['org:a', 'user:c'], 10],
    [['org:nobody'], 0],
    [[], 0],
  ])('list pages through only scopes %j (%i dispatches), cursors included', async (scopes, count) => {
    const store = memoryStore();
    await seed(store);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ scopes, limit: 2, cursor });
      seen.push(...page.items.map((d) => d.id));
      for (const item of page.items) expect(scopes).toContain(item.scope);
      if (page.next_cursor !== null) expect(page.items).toHaveLength(2);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);

    expect(seen).toHaveLength(count);
    expect(new Set(seen).size).toBe(count);
  });

  it('combines the scope list with the scope, state and route filters', async () => {
    const store = memoryStore();
    await seed(store);
    expect((await store.list({ scopes: ['org:a'], scope: 'org:b', limit: 50 })).items).toEqual([]);
    expect((await store.list({ scopes: ['org:a'], scope: 'org:a', limit: 50 })).items).toHaveLength(5);
    expect((await store.list({ scopes: ['org:a'], state: 'accepted', limit: 50 })).items).toHaveLength(5);
  });

  it('lists decisions of the given scopes only; scope-less (fleet-wide) ones match no list', async () => {
    const store = memoryStore();
    await seed(store);

    const mine = await store.listDecisions({ scopes: ['org:b'], limit: 2 });
    const rest = await store.listDecisions({ scopes: ['org:b'], after: mine.at(-1)?.seq ?? 0, limit: 100 });

    expect([...mine, ...rest].map((d) => d.scope)).toEqual(Array(5).fill('org:b'));
    expect(mine).toHaveLength(2);
    expect(await store.listDecisions({ scopes: [], limit: 100 })).toEqual([]);
    expect(await store.listDecisions({ scopes: ['org:b'], dispatch_id: 'd00', limit: 100 })).toEqual([]);
    expect(await store.listDecisions({ scopes: ['org:a'], dispatch_id: 'd00', limit: 100 })).toHaveLength(1);
    expect(await store.listDecisions({ limit: 100 })).toHaveLength(17);
  });

  it('treats a scope name as data, never as SQL', async () => {
    const store = memoryStore();
    await seed(store);
    const scopes = ["org:a') OR 1=1 --", '"]'];
    expect((await store.list({ scopes, limit: 50 })).items).toEqual([]);
    expect(await store.listDecisions({ scopes, limit: 50 })).toEqual([]);
  });
});
