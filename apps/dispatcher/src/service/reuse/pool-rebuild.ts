import type { Route } from '@forgejo-fleet/config';
import { InstanceNotFoundError } from '@forgejo-fleet/providers';
import type { WarmVm } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { ServiceDeps } from '../deps.js';
import { errorClass, errorSummary } from '../errors.js';
import { type ReuseClaim, writeClaim } from './claim.js';
import type { ReuseDesk } from './desk.js';
import { paidHourLeft, wholeMinutes } from './paid-hour.js';
import type { Parked } from './parked.js';

/** One key per pool VM: a replayed rebuild of the same warm record never rebuilds twice. */
export function poolRebuildKey(fleetId: string, warmId: string): string {
  return `${fleetId}-${warmId}-rebuild`;
}

/** A pool VM to make from a kept server: what a create of it would have been given. */
export interface PoolRebuild {
  readonly id: string;
  readonly route: Route;
  readonly claim: ReuseClaim & { readonly parked: Parked };
  readonly name: string;
  /** The warm user-data: the new agent secret is the only secret in it. */
  readonly userData: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Stores the warm record (`creating`, the new secret's hash). */
  readonly insert: () => Promise<WarmVm>;
  readonly log: Logger;
}

/**
 * `rebuilt`: the kept server is the pool VM now. `not-taken`: another dispatch or pool VM
 * recorded it first, or this replica lost the lease; no warm record was stored, create as usual.
 * `failed`: the rebuild failed, the server was deleted and the warm record retired; create anew
 * under another warm id (the failed one's tags may still be on a server being deleted).
 */
export type PoolRebuildOutcome = 'rebuilt' | 'not-taken' | 'failed';

/**
 * Makes a warm pool VM by rebuilding a server kept after its job, instead of creating one. The
 * warm record names the server before any call touches it, in the leader's fence (writeClaim):
 * after a crash the reconciler finds the record and its server, and no other replica can claim
 * the server for a dispatch meanwhile.
 */
export async function rebuildForPool(
  deps: ServiceDeps,
  desk: ReuseDesk,
  params: PoolRebuild,
): Promise<PoolRebuildOutcome> {
  const { id, route, claim, log } = params;
  const written = await writeClaim(deps, desk, claim, async () => {
    await params.insert();
    return deps.store.updateWarm(id, ['creating'], 'booting', deps.clock.now(), {
      instance_id: claim.instanceId,
      machine: claim.machine,
      hourly_price: claim.hourlyPrice,
      reason: `rebuilding server ${claim.instanceId} of dispatch ${claim.parked.dispatchId}`,
    });
  });
  if (!written.written) return 'not-taken';
  if (written.result === undefined) {
    // Retired between its insert and the claim (its route lost its pool): the server waits again.
    desk.giveBack(claim.parked);
    return 'failed';
  }

  const provider = deps.providerFor(claim.provider, '');
  const choice = provider.choices.find((c) => c.key === claim.machine);
  const started = deps.clock.now();
  let createdAt: number | undefined;
  try {
    if (provider.rebuild === undefined || choice === undefined)
      throw new Error(`provider ${claim.provider} cannot rebuild a ${claim.machine ?? 'server'} any more`);
    const instance = await provider.rebuild(claim.instanceId, {
      name: params.name,
      idempotencyKey: poolRebuildKey(deps.config.fleet_id, id),
      userData: params.userData,
      tags: params.tags,
      choice,
    });
    createdAt = instance.createdAt;
    deps.observer.providerCall(claim.provider, 'rebuild', 'ok', deps.clock.now() - started);
  } catch (error) {
    deps.observer.providerCall(claim.provider, 'rebuild', errorClass(error), deps.clock.now() - started);
    await giveUp(deps, desk, params, error);
    return 'failed';
  }

  const left = createdAt === undefined ? undefined : wholeMinutes(paidHourLeft(createdAt, deps.clock.now()));
  const reason = `reused server ${claim.instanceId} by rebuild${left === undefined ? '' : ` (paid hour: ${left} min left)`}`;
  await deps.decisions.record({
    kind: 'reuse',
    reason: `warm vm ${id} for route ${route.name}'s pool: ${reason}; previous dispatch ${claim.parked.dispatchId}`,
    dispatch_id: claim.parked.dispatchId,
    route: route.name,
    scope: claim.parked.scope,
    provider: claim.provider,
    choice: claim.machine,
    cost: claim.hourlyPrice,
  });
  log.info({ instanceId: claim.instanceId, leftMinutes: left }, 'warm vm made by rebuilding a kept server');
  return 'rebuilt';
}

/** The rebuild failed: the server is deleted (as a cold dispatch's would be) and its record retired. */
async function giveUp(
  deps: ServiceDeps,
  desk: ReuseDesk,
  params: PoolRebuild,
  error: unknown,
): Promise<void> {
  const { id, route, claim, log } = params;
  const gone = error instanceof InstanceNotFoundError;
  log.warn(
    { instanceId: claim.instanceId, err: errorSummary(error) },
    'rebuild for the pool failed; creating',
  );
  await deps.decisions.record({
    kind: 'fallback',
    reason: `rebuild of server ${claim.instanceId} for warm vm ${id} failed (${errorSummary(error)}); ${gone ? '' : 'deleting it; '}creating a new vm`,
    dispatch_id: claim.parked.dispatchId,
    route: route.name,
    scope: claim.parked.scope,
    provider: claim.provider,
    choice: claim.machine,
    error_class: errorClass(error),
  });
  if (!gone) {
    try {
      await deps.providerFor(claim.provider, '').delete(claim.instanceId);
    } catch (deleteError) {
      // Left to the sweeps: the server carries this retired pool id's tags or its kept dispatch's.
      log.warn(
        { instanceId: claim.instanceId, err: errorSummary(deleteError) },
        'delete after a failed rebuild failed',
      );
    }
  }
  await deps.store.updateWarm(id, ['booting'], 'retired', deps.clock.now(), {
    reason: 'its rebuild failed',
    burn_secret: true,
  });
  desk.release(claim.parked);
}
