import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { LiveLimitError } from '../accept-limits.js';
import { InvalidArgumentError } from '../errors.js';
import type { LiveLimits, Store } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

type Answer = { created: boolean; id: string };

function isAnswer(result: Answer | LiveLimitError): result is Answer {
  return !(result instanceof LiveLimitError);
}

/** The outcome of one insert: created, an existing dispatch, or the cap it hit. */
async function attempt(
  store: Store,
  id: string,
  overrides: Parameters<typeof newDispatch>[1],
  limits: LiveLimits,
): Promise<Answer | LiveLimitError> {
  try {
    const { record, created } = await store.insert(newDispatch(id, overrides), { limits });
    return { created, id: record.id };
  } catch (error) {
    if (error instanceof LiveLimitError) return error;
    throw error;
  }
}

/**
 * `insert` with limits: the count and the write are one atomic step against every other limited
 * insert on the store, so concurrent callers (on PostgreSQL: on many connections at once, as
 * several replicas are) never overshoot a cap.
 */
export function limitCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);

  describe('insert with live limits', () => {
    it('creates exactly 5 of 50 concurrent inserts on a route capped at 5, refusing the rest', async () => {
      const store = await fresh();

      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => attempt(store, `c${i}`, { route: 'small' }, { route: 5 })),
      );

      const created = results.filter(isAnswer).filter((r) => r.created);
      const refused = results.filter((r) => r instanceof LiveLimitError);
      expect(created).toHaveLength(5);
      expect(refused).toHaveLength(45);
      expect(refused.every((e) => e.limit === 'route' && e.max === 5 && e.live === 5)).toBe(true);
      expect((await store.countLive()).byRoute.get('small')).toBe(5);
      expect((await store.list({ limit: 500 })).items).toHaveLength(5);
    });

    it.each([
      ['total', { total: 2 }, { route: 'other', scope: 'org:other' }],
      ['route', { route: 2 }, { route: 'other' }],
      ['routeScope', { routeScope: 2 }, { route: 'default', scope: 'org:other' }],
    ] as const)(
      'refuses at the %s cap and names it; room elsewhere is unaffected',
      async (kind, limits, elsewhere) => {
        const store = await fresh();
        await store.insert(newDispatch('a1'), { limits });
        await store.insert(newDispatch('a2'), { limits });

        const refused = await attempt(store, 'a3', {}, limits);
        const other = await attempt(store, 'b1', elsewhere, limits);

        expect(refused).toBeInstanceOf(LiveLimitError);
        expect(refused).toMatchObject({ limit: kind, max: 2, live: 2, route: 'default', scope: 'org:acme' });
        expect(await store.get('a3')).toBeUndefined();
        expect(other).toEqual(kind === 'total' ? expect.any(LiveLimitError) : { created: true, id: 'b1' });
      },
    );

    it('checks the widest cap first, as the dispatcher names it', async () => {
      const store = await fresh();
      await store.insert(newDispatch('a1'));

      const refused = await attempt(store, 'a2', {}, { total: 1, route: 1, routeScope: 1 });

      expect(refused).toMatchObject({ limit: 'total' });
    });

    it('makes room when a dispatch ends', async () => {
      const store = await fresh();
      await store.insert(newDispatch('a1'), { limits: { route: 1 } });
      expect(await attempt(store, 'a2', {}, { route: 1 })).toBeInstanceOf(LiveLimitError);

      await store.transition('a1', ['accepted'], 'finished', T0 + 1);

      expect(await attempt(store, 'a2', {}, { route: 1 })).toEqual({ created: true, id: 'a2' });
    });

    it('answers a repeated handle with its dispatch even at the cap', async () => {
      const store = await fresh();
      await store.insert(newDispatch('a1', { handle: 'h1' }), { limits: { route: 1 } });

      const again = await attempt(store, 'a2', { handle: 'h1' }, { route: 1 });

      expect(again).toEqual({ created: false, id: 'a1' });
    });

    it('refuses everything under a cap of 0', async () => {
      const store = await fresh();

      expect(await attempt(store, 'a1', {}, { routeScope: 0 })).toMatchObject({
        limit: 'routeScope',
        live: 0,
      });
    });

    it('gives each of 10 handles, sent 3 times each at once, one dispatch or none, 5 in all', async () => {
      const store = await fresh();

      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          attempt(store, `c${i}`, { handle: `h${i % 10}`, route: 'small' }, { route: 5 }),
        ),
      );

      const byHandle = new Map<number, typeof results>();
      for (const [i, result] of results.entries()) {
        byHandle.set(i % 10, [...(byHandle.get(i % 10) ?? []), result]);
      }
      let dispatched = 0;
      for (const outcomes of byHandle.values()) {
        const answered = outcomes.filter(isAnswer);
        const created = answered.filter((r) => r.created);
        expect(created.length).toBeLessThanOrEqual(1);
        if (created.length === 1) dispatched++;
        // Every other attempt either found that dispatch or came before it and hit the cap.
        expect(answered.every((r) => r.id === created[0]?.id)).toBe(true);
      }
      expect(dispatched).toBe(5);
      expect((await store.list({ limit: 500 })).items).toHaveLength(5);
    });

    it.each([
      [{ route: -1 }, 'limits.route'],
      [{ total: 1.5 }, 'limits.total'],
      [{ routeScope: Number.NaN }, 'limits.routeScope'],
    ])('refuses malformed limits %j naming %s, writing nothing', async (limits, field) => {
      const store = await fresh();

      const error = await store.insert(newDispatch('a1'), { limits }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ field });
      expect(await store.get('a1')).toBeUndefined();
    });
  });

  describe('transition with live limits (a revive)', () => {
    /** `live` live dispatches and `failed` failed ones on the default route. */
    async function fleet(live: number, failed: number): Promise<Store> {
      const store = await fresh();
      for (let i = 0; i < live; i++) await store.insert(newDispatch(`l${i}`));
      for (let i = 0; i < failed; i++) {
        await store.insert(newDispatch(`f${i}`));
        await store.transition(`f${i}`, ['accepted'], 'failed', T0 + 1, { error: 'no capacity' });
      }
      return store;
    }

    function revive(store: Store, id: string, limits: LiveLimits) {
      return store
        .transition(id, ['failed'], 'registering', T0 + 2, { reason: 'revived' }, { limits })
        .catch((error: unknown) => {
          if (error instanceof LiveLimitError) return error;
          throw error;
        });
    }

    it('refuses a revive at the cap, writing nothing, and lets it through once there is room', async () => {
      const store = await fleet(2, 1);
      const before = await store.get('f0');

      const refused = await revive(store, 'f0', { route: 2 });

      expect(refused).toBeInstanceOf(LiveLimitError);
      expect(refused).toMatchObject({ limit: 'route', max: 2, live: 2, route: 'default', scope: 'org:acme' });
      expect(await store.get('f0')).toEqual(before);

      await store.transition('l0', ['accepted'], 'finished', T0 + 3);
      expect(await revive(store, 'f0', { route: 2 })).toMatchObject({ id: 'f0', state: 'registering' });
    });

    it('never refuses a move between live states at the cap', async () => {
      const store = await fleet(2, 0);

      const moved = await store.transition(
        'l0',
        ['accepted'],
        'registering',
        T0 + 2,
        {},
        { limits: { total: 2 } },
      );

      expect(moved).toMatchObject({ state: 'registering' });
    });

    it('answers undefined, not a refusal, for a dispatch not in `from`', async () => {
      const store = await fleet(2, 0);

      expect(await revive(store, 'l0', { total: 2 })).toBeUndefined();
      expect(await revive(store, 'missing', { total: 2 })).toBeUndefined();
    });

    it('keeps 10 revives and 10 inserts racing for 2 free places on a cap of 5 at 5', async () => {
      const store = await fleet(3, 10);

      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => revive(store, `f${i}`, { route: 5 })),
        ...Array.from({ length: 10 }, (_, i) => attempt(store, `n${i}`, {}, { route: 5 })),
      ]);

      expect((await store.countLive()).byRoute.get('default')).toBe(5);
    });

    it('refuses malformed limits naming the field, writing nothing', async () => {
      const store = await fleet(0, 1);
      const before = await store.get('f0');

      const error = await revive(store, 'f0', { total: -1 }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ field: 'limits.total' });
      expect(await store.get('f0')).toEqual(before);
    });
  });
}
