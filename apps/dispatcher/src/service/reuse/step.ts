import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { ServiceDeps } from '../deps.js';
import { errorClass, errorSummary } from '../errors.js';
import type { Step } from '../reconcile/context.js';
import { paidHourLeft, wholeMinutes } from './paid-hour.js';
import { type Parked, parkedFrom } from './parked.js';

const DISPATCH_TAG = 'forgejo-fleet-dispatch';

/**
 * Keeps the desk true to the cloud and the store, every pass: a stopped server whose finished
 * dispatch kept it is offered (again: after a restart the desk starts empty), and deleted once
 * less than `min_left` of its paid hour is left (before the next hour is billed) or its route no
 * longer reuses. A server taken by a dispatch of this process is left to that dispatch.
 */
export const reuseParked: Step = async (deps, ctx, world, signal) => {
  const desk = ctx.reuse;
  if (desk === undefined) return;
  const owned = new Set(
    world.live.flatMap((r) => (r.instance_id === null ? [] : [`${r.provider}\u0000${r.instance_id}`])),
  );
  const seen = new Map<string, Instance>();
  for (const [provider, instances] of world.instances) {
    for (const instance of instances.values()) {
      seen.set(`${provider.name}\u0000${instance.id}`, instance);
      if (signal?.aborted) return;
      const dispatchId = instance.tags[DISPATCH_TAG];
      if (instance.state !== 'stopped' || dispatchId === undefined) continue;
      if (owned.has(`${provider.name}\u0000${instance.id}`)) continue;
      const record = await deps.store.get(dispatchId);
      if (record === undefined || record.provider !== provider.name) continue;
      const parked = parkedFrom(record, instance);
      if (parked === undefined || desk.isTaken(parked)) continue;
      const route = deps.config.routes.find((r) => r.name === parked.route);
      const leftMs = paidHourLeft(parked.createdAt, world.now);
      if (
        route?.reuse.paid_hour === true &&
        provider.rebuild !== undefined &&
        leftMs >= route.reuse.min_left
      ) {
        desk.offer(parked);
        continue;
      }
      desk.withdraw(parked);
      await deleteParked(
        deps,
        provider,
        parked,
        route?.reuse.paid_hour === true
          ? `no job took it; its paid hour has ${wholeMinutes(leftMs)} min left`
          : `route ${parked.route} no longer reuses servers`,
      );
    }
  }
  // A taken server relabelled by its rebuild, or gone, is its dispatch's (or nobody's) now.
  desk.settle((taken) => {
    const now = seen.get(`${taken.provider}\u0000${taken.instanceId}`);
    return now === undefined || now.tags[DISPATCH_TAG] !== taken.dispatchId;
  });
  for (const parked of desk.parked()) {
    if (!seen.has(`${parked.provider}\u0000${parked.instanceId}`) && listedProvider(world, parked))
      desk.withdraw(parked);
  }
};

/** Whether the pass listed the provider of this parked server (a failed list proves nothing). */
function listedProvider(world: Parameters<Step>[2], parked: Parked): boolean {
  for (const provider of world.instances.keys()) if (provider.name === parked.provider) return true;
  return false;
}

async function deleteParked(deps: ServiceDeps, provider: Provider, parked: Parked, why: string) {
  const started = deps.clock.now();
  try {
    await provider.delete(parked.instanceId);
    deps.observer.providerCall(provider.name, 'delete', 'ok', deps.clock.now() - started);
  } catch (error) {
    deps.observer.providerCall(provider.name, 'delete', errorClass(error), deps.clock.now() - started);
    deps.log.warn(
      { instanceId: parked.instanceId, err: errorSummary(error) },
      'kept vm delete failed; next pass retries',
    );
    return;
  }
  await deps.decisions.record({
    kind: 'delete',
    reason: `kept vm ${parked.instanceId} deleted: ${why}`,
    dispatch_id: parked.dispatchId,
    route: parked.route,
    scope: parked.scope,
    provider: provider.name,
    choice: parked.machine,
  });
}
