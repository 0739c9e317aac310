import { describe, expect, it } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { InvalidArgumentError } from '../errors.js';
import { type StoreBackend, storesOf } from './backend.js';

/** `touch`: a provisioning replica's heartbeat, seen by every other replica's reconciler. */
export function heartbeatCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);

  describe('touch (provisioning heartbeat)', () => {
    it('moves updated_at of dispatches before booting only, appending no transition', async () => {
      const store = await fresh();
      await store.insert(newDispatch('accepted'));
      await store.insert(newDispatch('provisioning'));
      await store.transition('provisioning', ['accepted'], 'registering', T0 + 1);
      await store.transition('provisioning', ['registering'], 'provisioning', T0 + 2);
      await store.insert(newDispatch('booting'));
      await store.transition('booting', ['accepted'], 'booting', T0 + 3);
      await store.insert(newDispatch('ended'));
      await store.transition('ended', ['accepted'], 'cancelled', T0 + 4);
      // Read once first: a cached live list must still see the beat.
      await store.listLive();

      await store.touch(['accepted', 'provisioning', 'booting', 'ended', 'unknown'], T0 + 100);

      const live = new Map((await store.listLive()).map((r) => [r.id, r]));
      expect(live.get('accepted')?.updated_at).toBe(T0 + 100);
      expect(live.get('provisioning')?.updated_at).toBe(T0 + 100);
      expect(live.get('booting')?.updated_at).toBe(T0 + 3);
      expect((await store.get('ended'))?.updated_at).toBe(T0 + 4);
      expect(live.get('provisioning')?.transitions.map((t) => t.state)).toEqual([
        'accepted',
        'registering',
        'provisioning',
      ]);
      expect(await store.get('provisioning')).toEqual(live.get('provisioning'));
    });

    it('never moves updated_at back, and an empty beat is fine', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1', { at: T0 + 50 }));

      await store.touch(['d1'], T0 + 10);
      await store.touch([], T0 + 60);

      expect((await store.get('d1'))?.updated_at).toBe(T0 + 50);
    });

    it('refuses a time that is not epoch milliseconds', async () => {
      const store = await fresh();

      await expect(store.touch(['d1'], 1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });
}
