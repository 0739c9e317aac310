import { bootstrapFromConfig, renderUserData } from '@forgejo-fleet/cloud-init';
import type { Route } from '@forgejo-fleet/config';
import { parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';
import { createVm } from './create-vm.js';
import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';
import { instanceName, instanceTags, vmName } from './names.js';
import type { ProviderHealth } from './provider-health.js';
import { releaseResources } from './release.js';
import type { Semaphore } from './semaphore.js';

export interface ProvisionContext {
  readonly health: ProviderHealth;
  /** One per provider: its `create_concurrency`. */
  readonly createSlots: (provider: string) => Semaphore;
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
    const moved = await store.transition(record.id, ['accepted'], 'registering', clock.now());
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
      description: runnerDescription(config.fleet_id, record.id),
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
  const provisioning = await store.transition(record.id, ['registering'], 'provisioning', clock.now(), {
    runner,
  });
  if (!provisioning) {
    await releaseResources(deps, { ...record, runner, provider: null, instance_id: null }, log);
    return;
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
  const tags = instanceTags({
    fleetId: config.fleet_id,
    dispatchId: record.id,
    handle: record.handle,
    route: route.name,
    scope: record.scope,
  });
  await createVm(deps, context, {
    record: provisioning,
    route,
    name: vmName(name, provisioning.retries),
    userData,
    tags,
    log,
  });
}

export function runnerPrefix(config: ServiceDeps['config'], route: Route): string {
  return route.runner?.name_prefix ?? config.runner.name_prefix ?? config.fleet_id;
}

/** Marks a registration as ours: stale-registration cleanup never touches one without it. */
export function runnerDescription(fleetId: string, dispatchId: string): string {
  return `forgejo-fleet ${fleetId} dispatch ${dispatchId}`;
}
