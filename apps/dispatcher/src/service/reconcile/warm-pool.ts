import type { Instance } from '@forgejo-fleet/providers';
import type { WarmVm } from '@forgejo-fleet/store';
import { claimMovedAt, recordsVm, WARM_CLAIM_GRACE_MS, waitsForWarm } from '../warm/claims.js';
import { hasWarmPool } from '../warm/pool-size.js';
import { RECONCILE, type Step, type World } from './context.js';

/** Retire an idle VM of an hourly-billed provider this long before its next started hour. */
export const PAID_HOUR_MARGIN_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;

/**
 * The pool's own lifecycle: a VM whose agent never checked in within the route's boot timeout, an
 * idle VM past `max_idle_age` (or about to start another paid hour), a VM that vanished or powered
 * off, and VMs of a route that no longer has a pool are retired; a VM whose dispatch ended is
 * retired (the dispatch already deleted it). A claimed VM its dispatch never recorded is deleted
 * once that dispatch ended or moved on without it (the handoff never happened); one whose
 * dispatch still waits for it is the resume step's to take back. Then every pool is topped up.
 */
export const warmPool: Step = async (deps, ctx, world) => {
  const pool = ctx.warm;
  if (pool === undefined) return;
  for (const vm of await deps.store.listWarm()) {
    if (pool.inFlight.has(vm.id)) continue;
    const verdict = await judge(deps, world, vm);
    if (verdict === undefined) continue;
    await pool.retire(vm, verdict.reason, verdict.instance, { deleteVm: verdict.deleteVm !== false });
  }
  await pool.refill();
};

async function judge(
  deps: Parameters<Step>[0],
  world: World,
  vm: WarmVm,
): Promise<{ reason: string; instance?: Instance; deleteVm?: boolean } | undefined> {
  const route = deps.config.routes.find((r) => r.name === vm.route);
  if (vm.state === 'claimed' || vm.state === 'assigned') {
    if (vm.dispatch_id === null) return undefined;
    const record = await deps.store.get(vm.dispatch_id);
    const ended = record === undefined || ['finished', 'failed', 'cancelled'].includes(record.state);
    // Its dispatch owns the VM now and deleted it when it ended: only the record is left to close.
    if (record !== undefined && recordsVm(record, vm)) {
      return ended ? { reason: `its dispatch ${vm.dispatch_id} ended`, deleteVm: false } : undefined;
    }
    if (ended) return { reason: `its dispatch ${vm.dispatch_id} ended before taking it` };
    if (waitsForWarm(record)) return undefined;
    // Claimed before its dispatch moved to provisioning, or by a try the dispatch has left behind.
    return world.now - claimMovedAt(vm) > WARM_CLAIM_GRACE_MS
      ? { reason: `its dispatch ${vm.dispatch_id} never took it` }
      : undefined;
  }
  const age = world.now - vm.created_at;
  if (vm.state === 'creating') {
    return age > RECONCILE.resumeAfterMs ? { reason: 'its create never finished (restart)' } : undefined;
  }
  if (route === undefined || !hasWarmPool(route))
    return { reason: `route ${vm.route} has no warm pool any more` };
  const listed = findListed(deps, world, vm);
  if (listed === 'unknown') return undefined;
  if (listed === undefined || listed.state === 'stopped' || listed.state === 'terminated') {
    return { reason: listed === undefined ? 'the vm is gone' : `the vm is ${listed.state}` };
  }
  if (vm.state === 'booting' && age > route.timeouts.boot) {
    return {
      reason: `its agent never checked in within ${Math.round(route.timeouts.boot / 60_000)} min`,
      instance: listed,
    };
  }
  if (vm.state === 'idle') {
    const warm = route.warm;
    if (warm && age > warm.max_idle_age) {
      return { reason: `recycled after ${Math.round(warm.max_idle_age / 60_000)} min`, instance: listed };
    }
    // Billing runs from the server's creation, which for a server rebuilt from a kept one (paid-hour
    // reuse) is older than this pool record.
    const billedFor = world.now - (listed.createdAt ?? vm.created_at);
    if (warm?.paid_hour_only && billedFor % HOUR_MS > HOUR_MS - PAID_HOUR_MARGIN_MS) {
      return { reason: 'idle at the end of its paid hour', instance: listed };
    }
  }
  return undefined;
}

/** The VM in this pass's list, undefined when the list says it is gone, 'unknown' when the list failed. */
function findListed(deps: Parameters<Step>[0], world: World, vm: WarmVm): Instance | undefined | 'unknown' {
  let listed: ReadonlyMap<string, Instance> | undefined;
  try {
    listed = world.instances.get(deps.providerFor(vm.provider, ''));
  } catch {
    return 'unknown';
  }
  if (listed === undefined || vm.instance_id === null) return 'unknown';
  // The list was taken before this VM existed: not gone, just new.
  if (vm.created_at >= world.now) return 'unknown';
  return listed.get(vm.instance_id);
}
