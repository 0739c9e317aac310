import { describe, expect, it } from 'vitest';
import { T0 } from '../__fixtures__/dispatch.js';
import { InvalidArgumentError } from '../errors.js';
import type { Store, WarmState } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

async function idleVm(store: Store, id: string, at: number, provider = 'hetzner') {
  await store.insertWarm({ id, route: 'small', provider, secret_hash: `hash-${id}`, at });
  await store.updateWarm(id, ['creating'], 'booting', at, { instance_id: `i-${id}`, machine: 'cpx22@fsn1' });
  return store.updateWarm(id, ['booting'], 'idle', at + 1);
}

/** The warm pool: its states, claims, secrets and usage. */
export function warmCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);
  describe('warm pool', () => {
    it('walks creating → booting → idle, stamping ready_at at the first check-in', async () => {
      const store = await fresh();
      const vm = await idleVm(store, 'w1', T0);
      expect(vm).toMatchObject({
        state: 'idle',
        instance_id: 'i-w1',
        machine: 'cpx22@fsn1',
        secret_hash: 'hash-w1',
        ready_at: T0 + 1,
      });
      expect(await store.updateWarm('w1', ['booting'], 'idle', T0 + 5)).toBeUndefined();
    });

    it('gives the longest-idle VM to one dispatch, and never the same VM twice', async () => {
      const store = await fresh();
      await idleVm(store, 'w2', T0 + 10);
      await idleVm(store, 'w1', T0);

      const first = await store.claimWarm('small', 'd1', T0 + 20);
      const second = await store.claimWarm('small', 'd2', T0 + 21);
      const third = await store.claimWarm('small', 'd3', T0 + 22);

      expect(first).toMatchObject({ id: 'w1', state: 'claimed', dispatch_id: 'd1', claimed_at: T0 + 20 });
      expect(second).toMatchObject({ id: 'w2', dispatch_id: 'd2' });
      expect(third).toBeUndefined();
      expect(await store.claimWarm('other-route', 'd4', T0)).toBeUndefined();
    });

    it('skips VMs of excluded providers (a scope with its own credentials)', async () => {
      const store = await fresh();
      await idleVm(store, 'w1', T0, 'aws');
      expect(await store.claimWarm('small', 'd1', T0, { providers: ['aws'] })).toBeUndefined();
      expect(await store.claimWarm('small', 'd1', T0, { providers: ['hetzner'] })).toMatchObject({
        id: 'w1',
      });
    });

    it('burns the secret on use and on retirement, and lists only VMs not retired', async () => {
      const store = await fresh();
      await idleVm(store, 'w1', T0);
      await idleVm(store, 'w2', T0);
      await store.claimWarm('small', 'd1', T0);
      expect(await store.updateWarm('w1', ['claimed'], 'assigned', T0, { burn_secret: true })).toMatchObject({
        secret_hash: null,
      });
      expect(await store.updateWarm('w2', ['idle'], 'retired', T0, { reason: 'recycled' })).toMatchObject({
        secret_hash: null,
        reason: 'recycled',
      });
      expect((await store.listWarm()).map((vm) => vm.id)).toEqual(['w1']);
    });

    it('lets exactly one of many concurrent handoffs take a claimed VM (claimed → assigned, once)', async () => {
      const store = await fresh();
      await idleVm(store, 'w1', T0);
      await store.claimWarm('small', 'd1', T0);

      const handoffs = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.updateWarm('w1', ['claimed'], 'assigned', T0 + i, { burn_secret: true }),
        ),
      );

      expect(handoffs.filter((vm) => vm !== undefined)).toHaveLength(1);
      expect(await store.getWarm('w1')).toMatchObject({
        state: 'assigned',
        dispatch_id: 'd1',
        secret_hash: null,
      });
    });

    it('refuses an unknown state', async () => {
      const store = await fresh();
      await idleVm(store, 'w1', T0);
      await expect(store.updateWarm('w1', ['idle'], 'exploded' as WarmState, T0)).rejects.toThrow(
        InvalidArgumentError,
      );
    });

    it('counts idle warm VM time against its route until a dispatch claims it', async () => {
      const store = await fresh();
      await store.insertWarm({ id: 'w1', route: 'small', provider: 'p', secret_hash: 'h', at: T0 });
      await store.updateWarm('w1', ['creating'], 'booting', T0, { instance_id: 'i-1', hourly_price: 6 });
      await store.updateWarm('w1', ['booting'], 'idle', T0);
      await store.claimWarm('small', 'd1', T0 + 20 * 60_000);

      expect(await store.usage(T0, T0 + 60 * 60_000)).toEqual([
        { route: 'small', scope: '', vm_ms: 20 * 60_000, cost: 2 },
      ]);
    });
  });
}
