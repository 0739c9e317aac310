import type { Route } from '@forgejo-fleet/config';
import { type DispatchRecord, isLiveState, LAZY_WRITE } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import {
  type CreateContext,
  type CreateRequest,
  createdDecision,
  createVm,
  type Made,
  madeVm,
} from './create-vm.js';
import type { ServiceDeps } from './deps.js';
import { instanceTags } from './names.js';
import { releaseResources } from './release.js';

/**
 * Makes the VM of one dispatch through the creation pipeline and records the outcome on the
 * dispatch: `booting` with its VM, `failed` (registration released) when no choice could make
 * it, or left `provisioning` when a lost answer could not be looked up (the reconciler's resume
 * step finds the VM by its tag and adopts it, or creates again under the same idempotency key).
 */
export async function createColdVm(
  deps: ServiceDeps,
  context: CreateContext,
  params: { record: DispatchRecord; route: Route; name: string; userData: string; log: Logger },
): Promise<void> {
  const { record, route, log } = params;
  const { fleet_id: fleetId } = deps.config;
  const request: CreateRequest = {
    providers: route.providers,
    scope: record.scope,
    about: { dispatch_id: record.id, route: route.name, scope: record.scope },
    name: params.name,
    userData: params.userData,
    tags: instanceTags({
      fleetId,
      storeId: deps.store.storeId,
      dispatchId: record.id,
      handle: record.handle,
      route: route.name,
      scope: record.scope,
    }),
    // The retry count is part of the key: a fresh VM after a pickup timeout is a new create, never
    // an idempotent replay that hands back the VM just deleted.
    idempotencyKey: (provider) => `${fleetId}-${record.id}-${record.retries}-${provider}`,
    lookupTags: { 'forgejo-fleet': fleetId, 'forgejo-fleet-dispatch': record.id },
    log,
  };
  const outcome = await createVm(deps, context, request);
  if (outcome.kind === 'created') {
    await recordCreated(deps, request, record, outcome);
    return;
  }
  if (outcome.kind === 'unresolved') return;
  const failed = await deps.store.transition(record.id, ['provisioning'], 'failed', deps.clock.now(), {
    error: outcome.reason,
  });
  await releaseResources(deps, failed ?? record, log);
}

async function recordCreated(
  deps: ServiceDeps,
  request: CreateRequest,
  record: DispatchRecord,
  made: Made,
): Promise<void> {
  const { provider, choice, instance } = made;
  // Not synced: a power loss that undoes it leaves `provisioning` with the VM up, which the
  // reconciler's resume step adopts by its dispatch tag, as after a crash right after the create.
  const booting = await deps.store.transition(
    record.id,
    ['provisioning'],
    'booting',
    deps.clock.now(),
    { provider, ...madeVm(made) },
    LAZY_WRITE,
  );
  await deps.decisions.record(
    createdDecision(
      request,
      made,
      booting ? `vm ${instance.id} created` : `vm ${instance.id} created after the dispatch ended; deleting`,
    ),
  );
  if (!booting) {
    const current = await deps.store.get(record.id);
    if (current !== undefined && isLiveState(current.state) && current.instance_id === instance.id) {
      // Another replica resumed this dispatch (this one missed its heartbeats) and recorded this
      // very VM (same idempotency key): it is theirs. Only a runner of our own is left to delete.
      if (record.runner !== null && record.runner.uuid !== current.runner?.uuid) {
        await releaseResources(deps, { ...record, provider: null, instance_id: null }, request.log);
      }
      return;
    }
    // Cancelled while it was made: nothing will ever use this VM.
    await releaseResources(deps, { ...(current ?? record), provider, instance_id: instance.id }, request.log);
    return;
  }
  request.log.info({ provider, choice: choice.key, instanceId: instance.id }, 'vm created');
}
