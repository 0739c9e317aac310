import { bootstrapFromConfig, renderUserData } from '@forgejo-fleet/cloud-init';
import type { Route } from '@forgejo-fleet/config';
import { parseScope } from '@forgejo-fleet/forgejo';
import { type DispatchRecord, LAZY_WRITE, type WarmVm } from '@forgejo-fleet/store';
import type { UsageMeter } from './budgets.js';
import { createColdVm } from './cold-vm.js';
import type { CreateContext } from './create-vm.js';
import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';
import { instanceName, vmName } from './names.js';
import { runnerDescription } from './ownership.js';
import { releaseResources } from './release.js';
import { claimPatch, type ReuseClaim, resumedClaim, takeParked } from './reuse/claim.js';
import type { ReuseDesk } from './reuse/desk.js';
import { rebuildForDispatch } from './reuse/rebuild.js';
import type { WarmPool } from './warm/pool.js';

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

  const name = instanceName(runnerPrefix(config, route), record.id);
  let registered: { id: number; uuid: string; token: string };
  try {
    registered = await deps.forgejoFor(record.scope).registerRunner(parseScope(record.scope), {
      name,
      ephemeral: true,
      description: runnerDescription(config.fleet_id, record.id, store.storeId),
    });
  } catch (error) {
    deps.observer.error('forgejo');
    log.warn({ err: errorSummary(error) }, 'runner registration failed');
    await store.transition(record.id, ['registering'], 'failed', clock.now(), {
      error: `runner registration failed: ${errorSummary(error)}`,
    });
    return;
  }
  const runner = { id: registered.id, uuid: registered.uuid, name };
  // A server kept for reuse is claimed in this same write, before any call touches it: after a
  // crash the dispatch resumes the rebuild of that server under the same key, never another.
  const reuse: ReuseClaim | undefined =
    resumedClaim(registering) ??
    (context.reuse === undefined ? undefined : takeParked(deps, context.reuse, record, route));
  // Synced (the default): provider.create follows, and the VM it makes must find its dispatch
  // in `provisioning` after any crash, a power loss included, to be adopted by its tag.
  const provisioning = await store.transition(record.id, ['registering'], 'provisioning', clock.now(), {
    runner,
    ...(reuse === undefined ? {} : claimPatch(reuse)),
  });
  if (!provisioning) {
    if (reuse?.parked !== undefined) context.reuse?.giveBack(reuse.parked);
    await releaseResources(deps, { ...record, runner, provider: null, instance_id: null }, log);
    return;
  }

  if (context.warm && route.warm && record.handle !== null && reuse === undefined) {
    const vm = await context.warm.claim(provisioning, route);
    if (vm) {
      await assignWarm(deps, context.warm, { record: provisioning, route, vm, registered, log });
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

  const userData = renderUserData(
    bootstrapFromConfig({
      config,
      route,
      runner: { uuid: registered.uuid, token: registered.token, name },
      handle: record.handle ?? undefined,
      dispatchId: record.id,
    }),
  );
  const vm = vmName(name, provisioning.retries);
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

/** Gives the job to a claimed warm VM: the record points at it, then its agent gets the job. */
async function assignWarm(
  deps: ServiceDeps,
  pool: WarmPool,
  params: {
    record: DispatchRecord;
    route: Route;
    vm: WarmVm;
    registered: { id: number; uuid: string; token: string };
    log: ServiceDeps['log'];
  },
): Promise<void> {
  const { record, route, vm, registered, log } = params;
  const booting = await deps.store.transition(record.id, ['provisioning'], 'booting', deps.clock.now(), {
    provider: vm.provider,
    instance_id: vm.instance_id,
    machine: vm.machine,
    hourly_price: vm.hourly_price,
    reason: `warm vm ${vm.id} assigned`,
  });
  if (!booting) {
    // Cancelled in between: the claimed VM can never serve another job.
    const current = (await deps.store.get(record.id)) ?? record;
    await releaseResources(deps, { ...current, provider: vm.provider, instance_id: vm.instance_id }, log);
    await pool.retire(vm, 'its dispatch was cancelled before the handoff');
    return;
  }
  pool.assign(vm, {
    instance_url: deps.config.forgejo.instance_url,
    runner: { uuid: registered.uuid, token: registered.token, name: record.runner?.name ?? '' },
    handle: record.handle ?? '',
    labels: [...route.runner_labels],
    job_timeout_seconds: Math.round(route.timeouts.job / 1000),
  });
  const readyFor = vm.ready_at === null ? 0 : deps.clock.now() - vm.ready_at;
  await deps.decisions.record({
    kind: 'assign',
    reason: `warm vm ${vm.id} (${vm.instance_id}) assigned; it was idle for ${Math.round(readyFor / 1000)} s`,
    dispatch_id: record.id,
    route: route.name,
    scope: record.scope,
    provider: vm.provider,
    choice: vm.machine,
    cost: vm.hourly_price,
  });
  log.info({ warmId: vm.id, instanceId: vm.instance_id }, 'warm vm assigned');
  void pool
    .refill()
    .catch((error: unknown) => log.warn({ err: errorSummary(error) }, 'warm pool refill failed'));
}

export function runnerPrefix(config: ServiceDeps['config'], route: Route): string {
  return route.runner?.name_prefix ?? config.runner.name_prefix ?? config.fleet_id;
}
