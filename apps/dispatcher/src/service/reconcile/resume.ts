import type { Instance } from '@forgejo-fleet/providers';
import type { DispatchRecord, WarmVm } from '@forgejo-fleet/store';
import { isUp } from '../create-vm.js';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { instanceName, vmName } from '../names.js';
import { runnerPrefix } from '../runner-prefix.js';
import { claimMovedAt, WARM_CLAIM_GRACE_MS, WARM_TAKEN_BACK, waitsForWarm } from '../warm/claims.js';
import { leftQueue, runnerTookAJob } from './cancelled.js';
import { RECONCILE, type ReconcileContext, type Step, untouched, type World } from './context.js';
import { endDispatch } from './end-dispatch.js';
import { retryBackoff } from './pickup-timeout.js';

/**
 * Dispatches stuck before `booting` that no replica works on (the dispatcher crashed or restarted
 * mid-way, or a pickup retry is due) are taken up again. "No replica": not in this process's
 * in-flight set, and untouched for the grace: a replica provisioning a dispatch moves its
 * `updated_at` every HEARTBEAT_MS (heartbeat.ts), so only one that stopped beating (died, or is
 * paused past the grace) has its work resumed here:
 *   accepted, registering → provisioning runs again (a leftover registration is deleted first);
 *   provisioning → if a VM tagged with the dispatch exists it is adopted, otherwise the dispatch
 *   registers a fresh runner (the old token was never stored) and creates again under the same
 *   idempotency key, so a create that did reach the cloud cannot make a second VM;
 *   provisioning without a runner (waiting for a claimed warm VM's agent) → left alone while the
 *   claim is fresh; a stale one is taken back: the VM is retired first (so no poll can take it on
 *   any replica), then the dispatch goes cold and the VM is deleted.
 */
export const resumeStuck: Step = async (deps, ctx, world) => {
  let warm: Promise<readonly WarmVm[]> | undefined;
  const warmVms = () => {
    warm ??= deps.store.listWarm();
    return warm;
  };
  for (const record of untouched(world)) {
    if (record.state !== 'accepted' && record.state !== 'registering' && record.state !== 'provisioning')
      continue;
    if (ctx.inFlight.has(record.id)) continue;
    if (world.now - record.updated_at < resumeDelay(record)) continue;
    if (leftQueue(record, world)) {
      // Its job is gone: cancelled (our registration still waits), or run on a VM this dispatch
      // made but never recorded (a crash after the create call). Either way it ends here; the
      // orphan sweep deletes that VM, tagged with the now-ended dispatch.
      const took = await runnerTookAJob(deps, record);
      if (took === undefined) continue;
      world.touched.add(record.id);
      await endDispatch(deps, record, took ? 'finished' : 'cancelled', {
        kind: took ? 'delete' : 'cancel',
        reason: took
          ? 'the job ran while the dispatch was stuck after a restart'
          : 'the job left the queue while the dispatch was stuck',
      });
      continue;
    }
    world.touched.add(record.id);
    if (waitsForWarm(record)) await takeBackWarmClaim(deps, ctx, world, record, await warmVms());
    else if (record.state === 'provisioning') await resumeProvisioning(deps, ctx, world, record);
    else {
      deps.log.info({ dispatchId: record.id, state: record.state }, 'resuming a stuck dispatch');
      ctx.startProvision(record);
    }
  }
};

function resumeDelay(record: DispatchRecord): number {
  return record.state === 'registering' && record.retries > 0
    ? retryBackoff(record.retries)
    : RECONCILE.resumeAfterMs;
}

async function resumeProvisioning(
  deps: ServiceDeps,
  ctx: ReconcileContext,
  world: World,
  record: DispatchRecord,
): Promise<void> {
  const route = deps.config.routes.find((r) => r.name === record.route);
  const found =
    route === undefined
      ? { complete: true, match: undefined }
      : findTagged(deps, world, record, route.providers);
  if (!found.complete) return; // a provider list failed: maybe the VM is there, look next pass
  if (found.match) {
    const { provider, instance } = found.match;
    const adopted = await deps.store.transition(record.id, ['provisioning'], 'booting', deps.clock.now(), {
      provider,
      instance_id: instance.id,
      machine: instance.machine ?? null,
      reason: 'adopted the VM found by its dispatch tag after a restart',
    });
    if (adopted) {
      await deps.decisions.record({
        kind: 'adoption',
        reason: `vm ${instance.id} found by its dispatch tag after a restart; adopted`,
        dispatch_id: record.id,
        route: record.route,
        scope: record.scope,
        provider,
        choice: instance.machine ?? null,
      });
    }
    return;
  }
  const again = await deps.store.transition(record.id, ['provisioning'], 'registering', deps.clock.now(), {
    reason: 'resumed after a restart: no VM found, registering a fresh runner',
  });
  if (again) ctx.startProvision(again);
}

async function takeBackWarmClaim(
  deps: ServiceDeps,
  ctx: ReconcileContext,
  world: World,
  record: DispatchRecord,
  warm: readonly WarmVm[],
): Promise<void> {
  const claims = warm.filter(
    (vm) => vm.dispatch_id === record.id && (vm.state === 'claimed' || vm.state === 'assigned'),
  );
  // Its agent (or a handoff under way on some replica) may still take it.
  if (claims.some((vm) => world.now - claimMovedAt(vm) <= WARM_CLAIM_GRACE_MS)) return;
  const why = 'its agent never took the job it was claimed for';
  for (const vm of claims) {
    const retired = await deps.store.updateWarm(vm.id, [vm.state], 'retired', deps.clock.now(), {
      reason: why,
    });
    if (retired === undefined) return; // it moved meanwhile: look again next pass
  }
  const cold = await deps.store.transition(record.id, ['provisioning'], 'registering', deps.clock.now(), {
    reason: WARM_TAKEN_BACK,
  });
  for (const vm of claims) await deleteTakenBack(deps, record, vm, why);
  if (cold) {
    deps.log.info(
      { dispatchId: record.id, warmVms: claims.map((vm) => vm.id) },
      'stale warm claim taken back',
    );
    ctx.startProvision(cold);
  }
}

/** A failed delete is left to the orphan sweep: the VM carries its (now retired) pool id. */
async function deleteTakenBack(deps: ServiceDeps, record: DispatchRecord, vm: WarmVm, why: string) {
  if (vm.instance_id === null) return;
  try {
    await deps.providerFor(vm.provider, '').delete(vm.instance_id);
  } catch (error) {
    deps.log.warn(
      { warmId: vm.id, err: errorSummary(error) },
      'warm vm delete failed; the orphan sweep retries',
    );
    return;
  }
  await deps.decisions.record({
    kind: 'delete',
    reason: `warm vm ${vm.id} (${vm.instance_id}) deleted: ${why}`,
    dispatch_id: record.id,
    route: vm.route,
    scope: record.scope,
    provider: vm.provider,
    choice: vm.machine,
  });
}

function findTagged(
  deps: ServiceDeps,
  world: World,
  record: DispatchRecord,
  chain: readonly string[],
): { complete: boolean; match: { provider: string; instance: Instance } | undefined } {
  let complete = true;
  const route = deps.config.routes.find((r) => r.name === record.route);
  const expectedVm =
    route === undefined
      ? ''
      : vmName(instanceName(runnerPrefix(deps.config, route), record.id), record.retries);
  for (const name of chain) {
    let listed: ReadonlyMap<string, Instance> | undefined;
    try {
      listed = world.instances.get(deps.providerFor(name, record.scope));
    } catch (error) {
      deps.log.warn({ provider: name, err: errorSummary(error) }, 'provider unavailable');
    }
    if (listed === undefined) {
      complete = false;
      continue;
    }
    for (const instance of listed.values()) {
      if (
        instance.tags['forgejo-fleet-dispatch'] === record.id &&
        instance.name === expectedVm &&
        isUp(instance)
      ) {
        return { complete: true, match: { provider: name, instance } };
      }
    }
  }
  return { complete, match: undefined };
}
