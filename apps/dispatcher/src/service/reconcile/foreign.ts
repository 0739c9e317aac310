import type { ForeignThing } from '../foreign-sightings.js';
import { STORE_TAG } from '../ownership.js';
import { RECONCILE, type Step } from './context.js';

/**
 * VMs with our fleet id but another store's id: a second dispatcher (its own store) shares our
 * `fleet_id`. Observe already kept them from every other step; here each is logged once per
 * window, counted per provider for the gauge, and remembered for `why`.
 */
export const reportForeign: Step = async (deps, ctx, world) => {
  const byProvider = new Map<string, Map<string, ForeignThing>>();
  for (const [provider, instances] of world.foreign) {
    const seen = byProvider.get(provider.name) ?? new Map<string, ForeignThing>();
    byProvider.set(provider.name, seen);
    for (const instance of instances) {
      seen.set(instance.id, {
        where: provider.name,
        id: instance.id,
        storeId: instance.tags[STORE_TAG] ?? '',
      });
    }
  }
  for (const [provider, seen] of byProvider) {
    ctx.foreign?.setVms(provider, [...seen.values()]);
    deps.observer.foreignVms(provider, seen.size);
    for (const vm of seen.values()) {
      if (
        ctx.foreign &&
        !ctx.foreign.shouldLog(`vm\u0000${provider}\u0000${vm.id}`, world.now, RECONCILE.foreignReportMs)
      )
        continue;
      deps.log.warn(
        { provider, instanceId: vm.id, foreignStoreId: vm.storeId, fleetId: deps.config.fleet_id },
        'vm of another store with our fleet id left alone: two dispatchers share this fleet_id',
      );
    }
  }
};
