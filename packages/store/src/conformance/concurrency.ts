import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import type { DispatchState, Store } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

async function idle(store: Store, id: string): Promise<void> {
  await store.insertWarm({ id, route: 'small', provider: 'p', secret_hash: `hash-${id}`, at: T0 });
  await store.updateWarm(id, ['creating'], 'booting', T0, { instance_id: `i-${id}` });
  await store.updateWarm(id, ['booting'], 'idle', T0 + 1);
}

/**
 * Writes racing on one store. On SQLite they run one after another in this process; on
 * PostgreSQL they run on the pool's connections at once, so the database's constraints and
 * compare-and-sets (not the order of calls) decide.
 */
export function concurrencyCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);

  describe('concurrent writes', () => {
    it('creates one record from 50 concurrent inserts of one handle, each caller seeing it', async () => {
      const store = await fresh();

      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.insert(newDispatch(`c${i}`, { handle: 'one-handle' }))),
      );

      const winners = results.filter((result) => result.created);
      expect(winners).toHaveLength(1);
      expect(new Set(results.map((result) => result.record.id))).toEqual(new Set([winners[0]?.record.id]));
      expect(results.every((result) => result.record.transitions.length === 1)).toBe(true);
      expect((await store.list({ limit: 500 })).items).toHaveLength(1);
    });

    it('lets one of 20 concurrent compare-and-sets from one state win, with one transition written', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      const targets: DispatchState[] = ['registering', 'failed', 'cancelled'];

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transition('d1', ['accepted'], targets[i % targets.length] as DispatchState, T0 + i, {
            reason: `writer ${i}`,
          }),
        ),
      );

      const won = results.filter((result) => result !== undefined);
      expect(won).toHaveLength(1);
      const record = await store.get('d1');
      expect(record?.state).toBe(won[0]?.state);
      expect(record?.transitions.map((t) => t.state)).toEqual(['accepted', won[0]?.state]);
    });

    it('walks one dispatch through its steps while others race the same steps: each step once', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      const steps: [DispatchState, DispatchState][] = [
        ['accepted', 'registering'],
        ['registering', 'provisioning'],
        ['provisioning', 'booting'],
      ];

      for (const [from, to] of steps) {
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.transition('d1', [from], to, T0 + 1)),
        );
        expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      }

      const record = await store.get('d1');
      expect(record?.transitions.map((t) => t.state)).toEqual([
        'accepted',
        'registering',
        'provisioning',
        'booting',
      ]);
    });

    it('gives each idle warm VM to exactly one of many concurrent claims', async () => {
      const store = await fresh();
      for (const id of ['w1', 'w2', 'w3', 'w4', 'w5']) await idle(store, id);

      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.claimWarm('small', `d${i}`, T0 + 10)),
      );

      const taken = claims.filter((vm) => vm !== undefined);
      expect(taken.map((vm) => vm.id).sort()).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
      expect(new Set(taken.map((vm) => vm.dispatch_id)).size).toBe(5);
      expect(await store.claimWarm('small', 'late', T0 + 11)).toBeUndefined();
      const stored = await store.listWarm();
      expect(stored.every((vm) => vm.state === 'claimed')).toBe(true);
      expect(stored.map((vm) => vm.dispatch_id).sort()).toEqual(taken.map((vm) => vm.dispatch_id).sort());
    });

    it('numbers 50 concurrent decisions with distinct sequence numbers, all listed', async () => {
      const store = await fresh();

      const appended = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.appendDecision({ at: T0 + i, kind: 'create', reason: `r${i}` }),
        ),
      );

      const seqs = appended.map((decision) => decision.seq);
      expect(new Set(seqs).size).toBe(50);
      expect((await store.listDecisions({ limit: 100 })).map((d) => d.seq)).toEqual(
        [...seqs].sort((a, b) => a - b),
      );
    });
  });
}
