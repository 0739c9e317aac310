import type { Route } from '@forgejo-fleet/config';
import {
  type DispatchPatch,
  type DispatchRecord,
  FencedWriteError,
  type WarmState,
} from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { leadershipOf } from '../leadership.js';
import type { ReuseDesk } from './desk.js';
import { paidHourLeft } from './paid-hour.js';
import type { Parked } from './parked.js';

/** Warm states in which the pool, not a dispatch, holds the VM. */
const UNCLAIMED_WARM: readonly WarmState[] = ['creating', 'booting', 'idle'];

/** The server a dispatch rebuilds instead of creating one. */
export interface ReuseClaim {
  readonly provider: string;
  readonly instanceId: string;
  readonly machine: string | null;
  readonly hourlyPrice: number | null;
  /** Taken from the desk now; absent when a crash left the claim on the record. */
  readonly parked?: Parked;
}

/**
 * A parked server for this dispatch, taken off the desk: same route, a provider of its chain
 * whose object (credentials) is the same for the dispatch's scope, the same scope when the route
 * says so, and at least `min_left` of its paid hour left. The one with the least time left goes
 * first, so the others keep theirs for later jobs.
 */
export function takeParked(
  deps: Pick<ServiceDeps, 'providerFor' | 'clock' | 'leadership'>,
  desk: ReuseDesk,
  record: Pick<DispatchRecord, 'scope'>,
  route: Route,
): ReuseClaim | undefined {
  return takeFor(
    deps,
    desk,
    route,
    record.scope,
    (p) => route.providers.includes(p.provider) && (!route.reuse.same_scope_only || p.scope === record.scope),
  );
}

/**
 * A parked server for the route's warm pool, made by the pool's provider. A pool VM belongs to no
 * scope until a dispatch claims it, so a route that keeps servers within their scope
 * (`same_scope_only`) never gives one to its pool: the VM could serve any scope's job next.
 */
export function takeParkedForPool(
  deps: Pick<ServiceDeps, 'providerFor' | 'clock' | 'leadership'>,
  desk: ReuseDesk,
  route: Route,
  provider: string,
): (ReuseClaim & { readonly parked: Parked }) | undefined {
  if (route.reuse.same_scope_only) return undefined;
  // Pool VMs are made and deleted with the provider object of scope ''.
  return takeFor(deps, desk, route, '', (p) => p.provider === provider);
}

function takeFor(
  deps: Pick<ServiceDeps, 'providerFor' | 'clock' | 'leadership'>,
  desk: ReuseDesk,
  route: Route,
  scope: string,
  fits: (p: Parked) => boolean,
): (ReuseClaim & { readonly parked: Parked }) | undefined {
  if (!route.reuse.paid_hour) return undefined;
  // Only the leader parks and takes kept servers: a follower's desk may be an old term's.
  if (leadershipOf(deps).role() !== 'leader') return undefined;
  const now = deps.clock.now();
  const parked = desk.take(
    (p) =>
      p.route === route.name &&
      fits(p) &&
      sameProviderObject(deps, p, scope) &&
      paidHourLeft(p.createdAt, now) >= route.reuse.min_left,
    (p) => paidHourLeft(p.createdAt, now),
  );
  if (parked === undefined) return undefined;
  return {
    provider: parked.provider,
    instanceId: parked.instanceId,
    machine: parked.machine,
    hourlyPrice: parked.hourlyPrice,
    parked,
  };
}

/** Scope overrides may give a scope its own credentials (another project): never cross them. */
function sameProviderObject(deps: Pick<ServiceDeps, 'providerFor'>, parked: Parked, scope: string): boolean {
  try {
    const theirs = deps.providerFor(parked.provider, parked.scope);
    return theirs === deps.providerFor(parked.provider, scope) && theirs.rebuild !== undefined;
  } catch {
    return false;
  }
}

/**
 * A claim a crash left on the record: only a reuse writes a VM on a dispatch before `booting`
 * (pickup retries and revivals clear it; resuming after a crash keeps it), so the rebuild
 * resumes under the same key and never moves to another server.
 */
export function resumedClaim(record: DispatchRecord): ReuseClaim | undefined {
  if (record.provider === null || record.instance_id === null) return undefined;
  return {
    provider: record.provider,
    instanceId: record.instance_id,
    machine: record.machine,
    hourlyPrice: record.hourly_price,
  };
}

/** What the `registering → provisioning` transition records: the claim, before any outside call. */
export function claimPatch(claim: ReuseClaim): DispatchPatch {
  return {
    provider: claim.provider,
    instance_id: claim.instanceId,
    machine: claim.machine,
    hourly_price: claim.hourlyPrice,
    reason:
      claim.parked === undefined
        ? `resuming the rebuild of server ${claim.instanceId}`
        : `rebuilding server ${claim.instanceId} of dispatch ${claim.parked.dispatchId} for this job`,
  };
}

/**
 * Writes a dispatch's `provisioning` step with a claim just taken off the desk, as the leader:
 * in the leader's fence (the store refuses it once another replica holds the lease) and only
 * while no live dispatch or unclaimed pool VM records that server (a desk filled in an earlier term may be stale, and
 * another replica may have claimed it since). Between terms the lease is held by one replica at
 * a time and a term's claims are taken off one desk synchronously, so a kept server is claimed
 * by one dispatch. `written: false`: nothing was written; the dispatch goes on without reuse.
 */
export async function writeClaim<T>(
  deps: Pick<ServiceDeps, 'store' | 'leadership'>,
  desk: ReuseDesk,
  claim: ReuseClaim & { readonly parked: Parked },
  write: () => Promise<T>,
): Promise<{ written: true; result: T } | { written: false }> {
  type Outcome = { written: true; result: T } | { written: false; elsewhere: boolean };
  let outcome: Outcome | undefined;
  try {
    outcome = await leadershipOf(deps).lead(async (): Promise<Outcome> => {
      const live = await deps.store.listLive();
      if (live.some((r) => r.provider === claim.provider && r.instance_id === claim.instanceId))
        return { written: false, elsewhere: true };
      // A pool VM not yet claimed by a dispatch is recorded by its warm record only.
      const warm = await deps.store.listWarm();
      if (
        warm.some(
          (vm) =>
            UNCLAIMED_WARM.includes(vm.state) &&
            vm.provider === claim.provider &&
            vm.instance_id === claim.instanceId,
        )
      )
        return { written: false, elsewhere: true };
      return { written: true, result: await write() };
    });
  } catch (error) {
    if (!(error instanceof FencedWriteError)) throw error;
  }
  if (outcome?.written) return outcome;
  if (outcome?.elsewhere) desk.withdraw(claim.parked);
  else desk.giveBack(claim.parked);
  return { written: false };
}
