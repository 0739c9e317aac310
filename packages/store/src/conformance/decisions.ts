import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { InvalidArgumentError } from '../errors.js';
import type { DecisionKind } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

const MINUTE = 60_000;

/** The decision log (append, after, before, scopes) and usage. */
export function decisionCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);
  describe('decision log', () => {
    it('lists newest first before a sequence number, filtered by scope inside the query', async () => {
      const store = await fresh();
      for (let i = 0; i < 6; i++) {
        await store.appendDecision({
          at: T0 + i,
          kind: 'create',
          reason: `r${i}`,
          scope: i % 2 === 0 ? 'org:acme' : 'user:alice',
        });
      }
      const seqs = async (query: Parameters<typeof store.listDecisions>[0]) =>
        (await store.listDecisions(query)).map((d) => d.seq);

      expect(await seqs({ before: Number.POSITIVE_INFINITY, limit: 2 })).toEqual([6, 5]);
      expect(await seqs({ before: 5, limit: 2 })).toEqual([4, 3]);
      expect(await seqs({ before: Number.POSITIVE_INFINITY, limit: 10, scopes: ['org:acme'] })).toEqual([
        5, 3, 1,
      ]);
      expect(await seqs({ before: 1, limit: 10 })).toEqual([]);
      expect(await seqs({ after: 4, limit: 10 })).toEqual([5, 6]);
    });

    it('appends with increasing sequence numbers and lists oldest first, per dispatch', async () => {
      const store = await fresh();
      const first = await store.appendDecision({
        at: T0,
        kind: 'create',
        reason: 'vm created',
        dispatch_id: 'd1',
        route: 'default',
        provider: 'hetzner',
        choice: 'cpx22@fsn1',
        attempt: 1,
        cost: 0.0096,
      });
      await store.appendDecision({
        at: T0 + 1,
        kind: 'refusal',
        reason: 'route at max_vms',
        route: 'default',
      });
      const third = await store.appendDecision({
        at: T0 + 2,
        kind: 'delete',
        reason: 'job done',
        dispatch_id: 'd1',
      });

      expect(first).toEqual({
        seq: 1,
        at: T0,
        kind: 'create',
        reason: 'vm created',
        dispatch_id: 'd1',
        route: 'default',
        scope: null,
        provider: 'hetzner',
        choice: 'cpx22@fsn1',
        attempt: 1,
        error_class: null,
        cost: 0.0096,
      });
      expect((await store.listDecisions({ dispatch_id: 'd1', limit: 10 })).map((d) => d.seq)).toEqual([1, 3]);
      expect((await store.listDecisions({ limit: 10, after: 1 })).map((d) => d.seq)).toEqual([2, 3]);
      expect(third.kind).toBe('delete');
    });

    it('refuses an unknown kind and writes nothing', async () => {
      const store = await fresh();

      await expect(
        store.appendDecision({ at: T0, kind: 'explode' as DecisionKind, reason: 'x' }),
      ).rejects.toThrow(InvalidArgumentError);
      expect(await store.listDecisions({ limit: 10 })).toEqual([]);
    });
  });

  describe('usage', () => {
    it('counts VM time from booting to the end, clipped to the window, priced per hour', async () => {
      const store = await fresh();
      // d1: booted 30 min before the window, finished 10 min into it → 10 min counted.
      await store.insert(newDispatch('d1', { at: T0 - 60 * MINUTE }));
      await store.transition('d1', ['accepted'], 'booting', T0 - 30 * MINUTE, { hourly_price: 6 });
      await store.transition('d1', ['booting'], 'finished', T0 + 10 * MINUTE);
      // d2: still running, booted 20 min into the window; now is 60 min in → 40 min.
      await store.insert(newDispatch('d2', { at: T0 + 15 * MINUTE, scope: 'org:other' }));
      await store.transition('d2', ['accepted'], 'booting', T0 + 20 * MINUTE);
      // d3: never booted → nothing.
      await store.insert(newDispatch('d3', { at: T0 }));
      await store.transition('d3', ['accepted'], 'failed', T0 + MINUTE);
      // d4: ended before the window → nothing.
      await store.insert(newDispatch('d4', { at: T0 - 20 * MINUTE }));
      await store.transition('d4', ['accepted'], 'booting', T0 - 19 * MINUTE);
      await store.transition('d4', ['booting'], 'finished', T0 - 5 * MINUTE);

      const rows = await store.usage(T0, T0 + 60 * MINUTE);

      expect([...rows].sort((a, b) => a.scope.localeCompare(b.scope))).toEqual([
        { route: 'default', scope: 'org:acme', vm_ms: 10 * MINUTE, cost: 1 },
        { route: 'default', scope: 'org:other', vm_ms: 40 * MINUTE, cost: 0 },
      ]);
    });
  });
}
