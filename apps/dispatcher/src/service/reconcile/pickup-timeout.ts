import type { Route } from '@forgejo-fleet/config';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { releaseResources } from '../release.js';
import { enteredAt, RECONCILE, type Step, untouched } from './context.js';
import { endDispatch } from './end-dispatch.js';

/**
 * A VM up for longer than boot + pickup whose job still waits: its runner never took the job
 * (bad image, network, a runner that died). The VM goes; the job gets a fresh VM after a backoff,
 * up to the route's `pickup_retries`, and then the dispatch fails.
 */
export const pickupTimeout: Step = async (deps, _ctx, world) => {
  for (const record of untouched(world)) {
    if (record.state !== 'booting' || record.handle === null) continue;
    if (world.queues.get(record.scope)?.get(record.handle) !== 'waiting') continue;
    const route = deps.config.routes.find((r) => r.name === record.route);
    const since = enteredAt(record, 'booting');
    if (route === undefined || since === undefined) continue;
    const allowed = route.timeouts.boot + route.timeouts.pickup;
    if (world.now - since < allowed) continue;
    world.touched.add(record.id);
    const reason = `no pickup within ${Math.round(allowed / 60_000)} min of boot`;
    if (record.retries >= route.timeouts.pickup_retries) {
      await endDispatch(deps, record, 'failed', {
        kind: 'timeout',
        reason: `${reason}; gave up after ${record.retries + 1} VMs`,
      });
      continue;
    }
    await retryWithFreshVm(deps, record, route, reason);
  }
};

/** What a dispatch sent back to `registering` holds: no runner and no VM yet. */
export const NO_VM = {
  runner: null,
  provider: null,
  instance_id: null,
  machine: null,
  hourly_price: null,
} as const;

/**
 * Releases the dispatch's VM and registration and sends it back to `registering`, where the resume
 * step gives the job a fresh VM after the backoff (a new name and idempotency key).
 */
export async function retryWithFreshVm(
  deps: ServiceDeps,
  record: DispatchRecord,
  route: Route,
  reason: string,
): Promise<boolean> {
  const log = deps.log.child({ dispatchId: record.id });
  const released = await releaseResources(deps, record, log, reason);
  if (!released.ok) return false;
  const retry = record.retries + 1;
  const moved = await deps.store.transition(record.id, ['booting'], 'registering', deps.clock.now(), {
    reason: `${reason}; fresh VM ${retry} of ${route.timeouts.pickup_retries}`,
    retries: retry,
    ...NO_VM,
  });
  if (!moved) return false;
  await deps.decisions.record({
    kind: 'retry',
    reason: `${reason}; vm killed, a fresh one follows in ${Math.round(retryBackoff(retry) / 1000)} s`,
    dispatch_id: record.id,
    route: record.route,
    scope: record.scope,
    provider: record.provider,
    choice: record.machine,
    attempt: retry,
  });
  return true;
}

/** Wait before the fresh VM of retry `n` (1, 2, …): doubles each time. */
export function retryBackoff(retry: number): number {
  return RECONCILE.retryBackoffMs * 2 ** Math.max(0, retry - 1);
}
