import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { InvalidArgumentError } from '../errors.js';
import type { Store } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

const HOUR = 3_600_000;

async function seeded(store: Store): Promise<Store> {
  // Old and ended, in each end state.
  for (const [id, end] of [
    ['old-finished', 'finished'],
    ['old-failed', 'failed'],
    ['old-cancelled', 'cancelled'],
  ] as const) {
    await store.insert(newDispatch(id));
    await store.transition(id, ['accepted'], end, T0 + HOUR);
    await store.appendDecision({ at: T0 + HOUR, kind: 'delete', reason: 'gone', dispatch_id: id });
  }
  // Old but still live: never pruned, nor its decisions.
  await store.insert(newDispatch('old-live'));
  await store.transition('old-live', ['accepted'], 'booting', T0 + HOUR);
  await store.appendDecision({ at: T0 + HOUR, kind: 'create', reason: 'made', dispatch_id: 'old-live' });
  // Ended recently.
  await store.insert(newDispatch('new-finished', { at: T0 + 10 * HOUR }));
  await store.transition('new-finished', ['accepted'], 'finished', T0 + 10 * HOUR);
  await store.appendDecision({
    at: T0 + 10 * HOUR,
    kind: 'delete',
    reason: 'gone',
    dispatch_id: 'new-finished',
  });
  // An old decision of no dispatch.
  await store.appendDecision({ at: T0, kind: 'refusal', reason: 'route full', route: 'default' });
  return store;
}

/** prune: what ages out, what never does, and the per-call limit. */
export function retentionCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);
  describe('prune', () => {
    it('deletes ended dispatches, their transitions and old decisions; never a live one', async () => {
      const store = await seeded(await fresh());

      const result = await store.prune(T0 + 5 * HOUR, 500);

      expect(result).toEqual({ dispatches: 3, decisions: 4, warm_vms: 0 });
      const left = await store.list({ limit: 100 });
      expect(left.items.map((r) => r.id).sort()).toEqual(['new-finished', 'old-live']);
      const decisions = await store.listDecisions({ limit: 100 });
      expect(decisions.map((d) => d.dispatch_id)).toEqual(['old-live', 'new-finished']);
      expect((await store.get('old-live'))?.transitions).toHaveLength(2);
    });

    it('deletes at most `limit` rows of each kind per call, oldest first', async () => {
      const store = await seeded(await fresh());

      const first = await store.prune(T0 + 5 * HOUR, 2);
      const second = await store.prune(T0 + 5 * HOUR, 2);
      const third = await store.prune(T0 + 5 * HOUR, 2);

      expect(first).toEqual({ dispatches: 2, decisions: 2, warm_vms: 0 });
      expect(second).toEqual({ dispatches: 1, decisions: 2, warm_vms: 0 });
      expect(third).toEqual({ dispatches: 0, decisions: 0, warm_vms: 0 });
    });

    it('deletes retired warm VMs, never a pool VM still in use', async () => {
      const store = await seeded(await fresh());
      await store.insertWarm({ id: 'w-old', route: 'default', provider: 'p', secret_hash: 'x', at: T0 });
      await store.updateWarm('w-old', ['creating'], 'retired', T0 + HOUR, { reason: 'recycled' });
      await store.insertWarm({ id: 'w-idle', route: 'default', provider: 'p', secret_hash: 'y', at: T0 });

      const result = await store.prune(T0 + 5 * HOUR, 500);

      expect(result.warm_vms).toBe(1);
      expect(await store.getWarm('w-old')).toBeUndefined();
      expect(await store.getWarm('w-idle')).toBeDefined();
    });

    it.each([
      ['a fraction', 1.5],
      ['zero', 0],
    ])('refuses %s as a limit', async (_name, limit) => {
      const store = await fresh();

      await expect(store.prune(T0, limit)).rejects.toThrow(InvalidArgumentError);
    });
  });
}
