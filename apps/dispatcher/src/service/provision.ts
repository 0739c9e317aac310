import { bootstrapFromConfig, renderUserData } from '@forgejo-fleet/cloud-init';
import { type DispatchRecord, LAZY_WRITE, type WarmVm } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { UsageMeter } from './budgets.js';
import { createColdVm } from './cold-vm.js';
import type { CreateContext } from './create-vm.js';
import type { ServiceDeps } from './deps.js';
import { vmName } from './names.js';
import { registerDispatchRunner } from './register-runner.js';
import { releaseResources } from './release.js';
import { claimPatch, type ReuseClaim, resumedClaim, takeParked, writeClaim } from './reuse/claim.js';
import type { ReuseDesk } from './reuse/desk.js';
import { rebuildForDispatch } from './reuse/rebuild.js';
import { wentCold } from './warm/claims.js';
import type { WarmPool } from './warm/pool.js';

export { runnerPrefix } from './runner-prefix.js';

export interface ProvisionContext extends CreateContext {
  readonly usage: UsageMeter;
  /** The warm pools (absent when no route has one). */
  readonly warm?: WarmPool;
  /** Servers kept for paid-hour reuse (absent when no route reuses). */
  readonly reuse?: ReuseDesk;
}

/**
 * Takes a dispatch to a created VM: register the ephemeral runner in the job's scope, render the
 * user-data, and walk the route's providers and machine choices. Starts from `accepted`, or from
 * `registering` when resumed after a crash or a pickup timeout (any runner left from before is
 * deleted first: its token is gone). Every step is a compare-and-set, so a cancel that lands in
 * between wins and whatever this made is released.
 */
export async function provision(
  deps: ServiceDeps,
  context: ProvisionContext,
  record: DispatchRecord,
): Promise<void> {
  const { config, store, clock } = deps;
  const log = deps.log.child({ dispatchId: record.id, route: record.route, scope: record.scope });
  const route = config.routes.find((r) => r.name === record.route);
  if (!route) {
    await store.transition(record.id, ['accepted', 'registering'], 'failed', clock.now(), {
      error: `route ${record.route} is no longer configured`,
    });
    await releaseResources(deps, record, log);
    return;
  }
  let registering = record;
  if (record.state === 'accepted') {
    // Not synced: a power loss that undoes it leaves `accepted`, which resumes exactly like a
    // crash during the registration call (register afresh; the first registration, never
    // stored, is swept once the dispatch ends).
    const moved = await store.transition(record.id, ['accepted'], 'registering', clock.now(), {}, LAZY_WRITE);
    if (!moved) return;
    registering = moved;
  }
  if (registering.runner !== null) {
    const released = await releaseResources(deps, { ...registering, provider: null, instance_id: null }, log);
    if (!released.ok) return; // the reconciler resumes it on a later pass
  }

  // A server kept for reuse is claimed in the `provisioning` write, before any call touches it:
  // after a crash the dispatch resumes the rebuild of that server under the same key, never another.
  const claimed: ReuseClaim | undefined =
    resumedClaim(registering) ??
    (context.reuse === undefined ? undefined : takeParked(deps, context.reuse, record, route));

  if (
    context.warm &&
    route.warm &&
    record.handle !== null &&
    claimed === undefined &&
    !wentCold(registering)
  ) {
    // The claim comes before any runner: the replica that gets the agent's poll registers it.
    const vm = await context.warm.claim(registering, route);
    if (vm) {
      await awaitAgent(deps, context.warm, { record: registering, vm, log });
      return;
    }
    await deps.decisions.record({
      kind: 'fallback',
      reason: `no idle warm vm on route ${route.name}; creating a cold one`,
      dispatch_id: record.id,
      route: route.name,
      scope: record.scope,
    });
  }

  const registered = await registerDispatchRunner(deps, route, record, 'registering', log);
  if (registered === undefined) {
    if (claimed?.parked !== undefined) context.reuse?.giveBack(claimed.parked);
    return;
  }
  const { runner } = registered;
  // Synced (the default): provider.create follows, and the VM it makes must find its dispatch
  // in `provisioning` after any crash, a power loss included, to be adopted by its tag.
  const toProvisioning = (claim: ReuseClaim | undefined) =>
    store.transition(record.id, ['registering'], 'provisioning', clock.now(), {
      runner,
      ...(claim === undefined ? {} : claimPatch(claim)),
    });
  let reuse = claimed;
  let provisioning: DispatchRecord | undefined;
  const taken = claimed?.parked;
  if (claimed !== undefined && taken !== undefined && context.reuse !== undefined) {
    const claim = await writeClaim(deps, context.reuse, { ...claimed, parked: taken }, () =>
      toProvisioning(claimed),
    );
    if (claim.written) provisioning = claim.result;
    else {
      reuse = undefined;
      provisioning = await toProvisioning(undefined);
    }
  } else provisioning = await toProvisioning(claimed);
  if (!provisioning) {
    if (reuse?.parked !== undefined) context.reuse?.giveBack(reuse.parked);
    await releaseResources(deps, { ...record, runner, provider: null, instance_id: null }, log);
    return;
  }

  const userData = renderUserData(
    bootstrapFromConfig({
      config,
      route,
      runner: { uuid: runner.uuid, token: registered.token, name: runner.name },
      handle: record.handle ?? undefined,
      dispatchId: record.id,
    }),
  );
  const vm = vmName(runner.name, provisioning.retries);
  if (reuse !== undefined) {
    const params = { record: provisioning, route, claim: reuse, name: vm, userData, log };
    if (await rebuildForDispatch(deps, context.reuse, params)) return;
  }
  await createColdVm(deps, context, {
    record: provisioning,
    route,
    name: vm,
    userData,
    log,
  });
}

/**
 * The dispatch claimed a warm VM: it waits in `provisioning` without a runner (the claim is the
 * VM's `dispatch_id`) for the VM's agent, whose poll on any replica hands the job over; when that
 * poll is held here, at once.
 */
async function awaitAgent(
  deps: ServiceDeps,
  pool: WarmPool,
  params: { record: DispatchRecord; vm: WarmVm; log: Logger },
): Promise<void> {
  const { record, vm, log } = params;
  const waiting = await deps.store.transition(record.id, ['registering'], 'provisioning', deps.clock.now(), {
    runner: null,
    reason: `warm vm ${vm.id} claimed; waiting for its agent`,
  });
  if (!waiting) {
    // Cancelled in between: the claimed VM can never serve another job.
    await pool.retire(vm, 'its dispatch was cancelled before the handoff');
    return;
  }
  log.info({ warmId: vm.id, instanceId: vm.instance_id }, 'warm vm claimed');
  await pool.handOffHeld(vm);
}
