import type { Instance } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import { isUp } from '../create-vm.js';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { instanceName, vmName } from '../names.js';
import { runnerPrefix } from '../provision.js';
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
 *   idempotency key, so a create that did reach the cloud cannot make a second VM.
 */
export const resumeStuck: Step = async (deps, ctx, world) => {
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
    if (record.state === 'provisioning') await resumeProvisioning(deps, ctx, world, record);
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
