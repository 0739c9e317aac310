import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lifecycleWorld } from '../../__fixtures__/lifecycle-world.js';
import { sequentialIds } from '../../__fixtures__/world-parts.js';
import { createDispatcherMetrics } from '../../metrics.js';
import { STORE_TAG } from '../ownership.js';
import { RECONCILE } from './context.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };
/** Manual dispatches (no job handle): no pickup timeout, so only the sweeps could end them. */
const MANUAL = { scope: 'org:acme', labels: ['linux'] };

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld();
});
afterEach(async () => {
  await w.close();
});

/** Ids of the second store's dispatches: `dz…`, never equal to the first's `d0…`. */
function otherIds(): () => string {
  let n = 0;
  return () => `dz${String(++n).padStart(11, '0')}`;
}

describe('two stores with the same fleet_id over one provider', () => {
  it('neither deletes the other’s VMs or runner registrations in 10 passes past orphan_grace', async () => {
    // Only the foreign gauge is read here; the store-backed gauges get an empty store.
    const metricsA = createDispatcherMetrics({
      countLive: async () => ({ total: 0, byRoute: new Map(), byScope: new Map(), byRouteScope: new Map() }),
      listWarm: async () => [],
      listLive: async () => [],
    });
    const a = w.start({}, { store: 'dispatcher.db', newId: sequentialIds(), observer: metricsA.observer });
    const b = w.start({}, { store: 'other.db', newId: otherIds() });
    expect(a.store.storeId).not.toBe(b.store.storeId);
    const ofA = (await a.service.dispatch(MANUAL, CALLER)).record;
    const ofB = (await b.service.dispatch(MANUAL, CALLER)).record;
    await a.service.drain();
    await b.service.drain();
    expect(
      w
        .vms()
        .map((vm) => vm.tags[STORE_TAG])
        .sort(),
    ).toEqual([a.store.storeId, b.store.storeId].sort());
    const registrations = w.registrations().map((r) => r.description);
    expect(registrations).toContain(`forgejo-fleet test dispatch ${ofA.id} store ${a.store.storeId}`);
    expect(registrations).toContain(`forgejo-fleet test dispatch ${ofB.id} store ${b.store.storeId}`);

    for (let pass = 0; pass < 10; pass++) {
      w.advance(w.config.reconcile.orphan_grace / 2 + RECONCILE.registrationSweepMs);
      await a.service.reconcile();
      await b.service.reconcile();
    }

    expect(w.now() - ofA.created_at).toBeGreaterThan((10 * w.config.reconcile.orphan_grace) / 2);
    expect(w.vms()).toHaveLength(2);
    expect(w.registrations()).toHaveLength(2);
    expect((await a.store.get(ofA.id))?.state).toBe('booting');
    expect((await b.store.get(ofB.id))?.state).toBe('booting');
    expect(w.cloud.calls.filter((call) => call.verb === 'delete')).toEqual([]);
    // Each reports the other's VM: the gauge and `why`.
    expect(await metricsA.registry.getSingleMetricAsString('forgejo_fleet_foreign_vms')).toContain(
      'forgejo_fleet_foreign_vms{provider="cloud"} 1',
    );
    const { text } = await a.service.why(ofA.id);
    expect(text).toContain(
      `foreign: 1 VMs and 1 runner registrations carry fleet id test but another store's id (${b.store.storeId})`,
    );
  });

  it('sweeps the VMs and registrations of a lost store it adopts (store.adopt_store_ids) after orphan_grace', async () => {
    const lost = w.start({}, { store: 'lost.db', newId: otherIds() });
    await lost.service.dispatch(MANUAL, CALLER);
    await lost.service.drain();
    const fresh = w.start({}, { store: 'fresh.db', newId: sequentialIds(), adopt: [lost.store.storeId] });
    expect(w.vms().map((vm) => vm.tags[STORE_TAG])).toEqual([lost.store.storeId]);

    await fresh.service.reconcile();
    expect(w.vms()).toHaveLength(1); // seen once: the grace starts
    for (let pass = 0; pass < 2; pass++) {
      w.advance(w.config.reconcile.orphan_grace + RECONCILE.registrationSweepMs);
      await fresh.service.reconcile();
    }

    expect(w.vms()).toEqual([]);
    expect(w.registrations()).toEqual([]);
  });

  it('still sweeps its own leftovers, and an untagged VM from before store ids counts as its own', async () => {
    const a = w.start({}, { store: 'dispatcher.db', newId: sequentialIds() });
    const b = w.start({}, { store: 'other.db', newId: otherIds() });
    await b.service.dispatch(MANUAL, CALLER);
    await b.service.drain();
    const old = await w.cloud.provider.create({
      name: 'test-d0000000000old',
      idempotencyKey: 'old',
      userData: '',
      tags: { 'forgejo-fleet': 'test', 'forgejo-fleet-dispatch': 'd0000000000old' },
    });

    for (let pass = 0; pass < 3; pass++) {
      w.advance(w.config.reconcile.orphan_grace);
      await a.service.reconcile();
    }

    expect(w.vms().map((vm) => vm.id)).not.toContain(old.id);
    expect(w.vms().map((vm) => vm.tags[STORE_TAG])).toEqual([b.store.storeId]);
  });
});
