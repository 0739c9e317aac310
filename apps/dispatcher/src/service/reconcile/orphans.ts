import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { errorClass, errorSummary } from '../errors.js';
import { keptForReuse } from '../reuse/parked.js';
import type { ReconcileContext, Step } from './context.js';

/** A VM we asked to delete is asked again only after this, if it is still listed. */
const REDELETE_AFTER_MS = 300_000;

/**
 * Instances carrying our fleet tag that no live dispatch owns:
 *   - its dispatch ended → deleted now (the delete was lost, or a retry made it);
 *   - its dispatch owns another VM → deleted now (never two VMs for one job);
 *   - its dispatch is still before `booting` → left to the resume step, which adopts it;
 *   - no dispatch (a crash before the intent, or an old database restored) → deleted once it has
 *     been seen for `reconcile.orphan_grace`.
 */
export const reapOrphans: Step = async (deps, ctx, world, signal) => {
  const owned = new Set(
    world.live.flatMap((r) => (r.instance_id === null ? [] : [`${r.provider}\u0000${r.instance_id}`])),
  );
  const seenNow = new Set<string>();
  for (const [provider, instances] of world.instances) {
    for (const instance of instances.values()) {
      if (signal?.aborted) return;
      if (instance.state === 'terminated' || owned.has(`${provider.name}\u0000${instance.id}`)) continue;
      const warmId = instance.tags['forgejo-fleet-warm'];
      if (warmId !== undefined) {
        // A pool VM: the warm step owns it while its record is live; a claimed one is its dispatch's.
        const vm = await deps.store.getWarm(warmId);
        if (vm !== undefined && vm.state !== 'retired') continue;
        if (vm === undefined && ctx.warm?.inFlight.has(warmId)) continue;
      }
      const dispatchId = instance.tags['forgejo-fleet-dispatch'];
      if (dispatchId !== undefined && ctx.inFlight.has(dispatchId)) continue;
      const record = dispatchId === undefined ? undefined : await deps.store.get(dispatchId);
      // The pass's snapshot of live dispatches predates the list: a create that finished in between
      // shows here as an unowned VM whose dispatch (read fresh) names it.
      const live = record !== undefined && (record.state === 'booting' || record.state === 'running');
      if (live && record.instance_id === instance.id && record.provider === provider.name) continue;
      // Kept for reuse on purpose: the reuse step offers it, and deletes it before its next hour.
      if (record !== undefined && ctx.reuse !== undefined && keptForReuse(record, instance.id)) continue;
      const verdict = judge(record, world.now, instanceKey(provider, instance), ctx, deps);
      if (verdict === 'wait') {
        seenNow.add(instanceKey(provider, instance));
        continue;
      }
      if (verdict === 'keep') continue;
      // A deleted VM may be listed as shutting down for a minute; ask once, not every pass.
      const key = instanceKey(provider, instance);
      const asked = ctx.deleted.get(key);
      if (asked !== undefined && world.now - asked < REDELETE_AFTER_MS) continue;
      if (await deleteOrphan(deps, provider, instance, record, verdict)) ctx.deleted.set(key, world.now);
    }
  }
  for (const [key, at] of ctx.deleted) if (world.now - at >= REDELETE_AFTER_MS) ctx.deleted.delete(key);
  for (const key of ctx.firstSeen.keys()) {
    if (key.startsWith('vm\u0000') && !seenNow.has(key)) ctx.firstSeen.delete(key);
  }
};

function instanceKey(provider: Provider, instance: Instance): string {
  return `vm\u0000${provider.name}\u0000${instance.id}`;
}

function judge(
  record: DispatchRecord | undefined,
  now: number,
  key: string,
  ctx: ReconcileContext,
  deps: ServiceDeps,
): 'keep' | 'wait' | string {
  if (record !== undefined) {
    if (record.state === 'accepted' || record.state === 'registering' || record.state === 'provisioning')
      return 'keep';
    if (record.state === 'booting' || record.state === 'running')
      return `dispatch ${record.id} already owns another vm`;
    return `dispatch ${record.id} ended as ${record.state}`;
  }
  const first = ctx.firstSeen.get(key) ?? now;
  ctx.firstSeen.set(key, first);
  if (now - first < deps.config.reconcile.orphan_grace) return 'wait';
  return 'no dispatch owns it (orphan grace over)';
}

async function deleteOrphan(
  deps: ServiceDeps,
  provider: Provider,
  instance: Instance,
  record: DispatchRecord | undefined,
  reason: string,
): Promise<boolean> {
  const started = deps.clock.now();
  try {
    await provider.delete(instance.id);
    deps.observer.providerCall(provider.name, 'delete', 'ok', deps.clock.now() - started);
  } catch (error) {
    deps.observer.providerCall(provider.name, 'delete', errorClass(error), deps.clock.now() - started);
    deps.log.warn(
      { provider: provider.name, instanceId: instance.id, err: errorSummary(error) },
      'orphan delete failed',
    );
    return false;
  }
  await deps.decisions.record({
    kind: 'delete',
    reason: `orphan vm ${instance.id} deleted: ${reason}`,
    dispatch_id: record?.id ?? instance.tags['forgejo-fleet-dispatch'] ?? null,
    route: record?.route ?? instance.tags['forgejo-fleet-route'] ?? null,
    scope: record?.scope ?? instance.tags['forgejo-fleet-scope'] ?? null,
    provider: provider.name,
    choice: instance.machine ?? null,
  });
  return true;
}
