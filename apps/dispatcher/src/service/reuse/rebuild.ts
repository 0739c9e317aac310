import type { Route } from '@forgejo-fleet/config';
import { type Instance, InstanceNotFoundError } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { ServiceDeps } from '../deps.js';
import { errorClass, errorSummary } from '../errors.js';
import { instanceTags } from '../names.js';
import { releaseResources } from '../release.js';
import type { ReuseClaim } from './claim.js';
import type { ReuseDesk } from './desk.js';
import { paidHourLeft, wholeMinutes } from './paid-hour.js';

/** One key per dispatch and VM attempt: a resumed rebuild never rebuilds the server twice. */
export function rebuildKey(fleetId: string, record: Pick<DispatchRecord, 'id' | 'retries'>): string {
  return `${fleetId}-${record.id}-${record.retries}-rebuild`;
}

/**
 * Rebuilds the claimed server for this dispatch (new disk from the image, the dispatch's own
 * user-data and tags) and records it as the dispatch's VM. Answers false when the rebuild could
 * not be done (server gone, action failed, timed out): the server is deleted and the caller
 * creates a VM as it would have without reuse.
 */
export async function rebuildForDispatch(
  deps: ServiceDeps,
  desk: ReuseDesk | undefined,
  params: {
    record: DispatchRecord;
    route: Route;
    claim: ReuseClaim;
    name: string;
    userData: string;
    log: Logger;
  },
): Promise<boolean> {
  const { record, route, claim, log } = params;
  const provider = deps.providerFor(claim.provider, record.scope);
  const choice = provider.choices.find((c) => c.key === claim.machine);
  const started = deps.clock.now();
  let instance: Instance;
  try {
    if (provider.rebuild === undefined || choice === undefined)
      throw new Error(`provider ${claim.provider} cannot rebuild a ${claim.machine ?? 'server'} any more`);
    instance = await provider.rebuild(claim.instanceId, {
      name: params.name,
      idempotencyKey: rebuildKey(deps.config.fleet_id, record),
      userData: params.userData,
      tags: instanceTags({
        fleetId: deps.config.fleet_id,
        storeId: deps.store.storeId,
        dispatchId: record.id,
        handle: record.handle,
        route: route.name,
        scope: record.scope,
      }),
      choice,
    });
    deps.observer.providerCall(claim.provider, 'rebuild', 'ok', deps.clock.now() - started);
  } catch (error) {
    deps.observer.providerCall(claim.provider, 'rebuild', errorClass(error), deps.clock.now() - started);
    await giveUp(deps, desk, params, error);
    return false;
  }

  const now = deps.clock.now();
  const left =
    instance.createdAt === undefined ? undefined : wholeMinutes(paidHourLeft(instance.createdAt, now));
  const reason = `reused server ${claim.instanceId} by rebuild${left === undefined ? '' : ` (paid hour: ${left} min left)`}`;
  const booting = await deps.store.transition(record.id, ['provisioning'], 'booting', now, {
    provider: claim.provider,
    instance_id: claim.instanceId,
    machine: claim.machine,
    hourly_price: claim.hourlyPrice,
    reason,
  });
  await deps.decisions.record({
    kind: 'reuse',
    reason: `${reason}; previous dispatch ${claim.parked?.dispatchId ?? 'unknown (resumed after a restart)'}${booting ? '' : '; the dispatch ended meanwhile, deleting it'}`,
    dispatch_id: record.id,
    route: route.name,
    scope: record.scope,
    provider: claim.provider,
    choice: claim.machine,
    cost: claim.hourlyPrice,
  });
  if (!booting) {
    // Cancelled while it was rebuilt: nothing will ever use this server.
    const current = (await deps.store.get(record.id)) ?? record;
    await releaseResources(
      deps,
      { ...current, provider: claim.provider, instance_id: claim.instanceId },
      log,
    );
    return true;
  }
  log.info(
    { provider: claim.provider, instanceId: claim.instanceId, leftMinutes: left },
    'vm reused by rebuild',
  );
  return true;
}

/** The rebuild failed: the server is deleted as it would have been without reuse. */
async function giveUp(
  deps: ServiceDeps,
  desk: ReuseDesk | undefined,
  params: { record: DispatchRecord; route: Route; claim: ReuseClaim; log: Logger },
  error: unknown,
): Promise<void> {
  const { record, claim, log } = params;
  const gone = error instanceof InstanceNotFoundError;
  log.warn({ instanceId: claim.instanceId, err: errorSummary(error) }, 'rebuild failed; creating a vm');
  await deps.decisions.record({
    kind: 'fallback',
    reason: `rebuild of server ${claim.instanceId} failed (${errorSummary(error)}); ${gone ? '' : 'deleting it; '}creating a new vm`,
    dispatch_id: record.id,
    route: params.route.name,
    scope: record.scope,
    provider: claim.provider,
    choice: claim.machine,
    error_class: errorClass(error),
  });
  if (!gone) {
    // A failed delete is left to the sweeps: the server carries this dispatch's tags (claimed)
    // or its previous one's, and either dispatch owns another VM or has ended by then.
    await releaseResources(
      deps,
      { ...record, runner: null, provider: claim.provider, instance_id: claim.instanceId },
      log,
      'its rebuild failed',
    );
  }
  if (claim.parked !== undefined) desk?.release(claim.parked);
}
