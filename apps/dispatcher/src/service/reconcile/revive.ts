import { type DispatchRecord, LiveLimitError } from '@forgejo-fleet/store';
import { checkLimits, liveLimits } from '../accept.js';
import type { ServiceDeps } from '../deps.js';
import { LimitReached } from '../errors.js';
import { RECONCILE, type ReconcileContext, type Step } from './context.js';
import { NO_VM } from './pickup-timeout.js';

/**
 * A failed dispatch whose job still waits gets another try: every provider choice was out of
 * capacity, Forgejo refused the registration for a while, a provider was misconfigured and has
 * been fixed. Its handle stays taken (the autoscaler's resends answer 200 with it), so without
 * this the job would wait forever. Backoff doubles per failure; the route's limits and budgets
 * still apply; a route or scope that is no longer configured is not retried.
 */
export const reviveFailed: Step = async (deps, ctx, world) => {
  for (const record of world.failed) {
    if (record.handle === null || world.touched.has(record.id)) continue;
    if (world.queues.get(record.scope)?.get(record.handle) !== 'waiting') continue;
    if (world.now - record.updated_at < reviveDelay(record)) continue;
    const route = deps.config.routes.find((r) => r.name === record.route);
    if (route === undefined || !deps.config.scopes.some((s) => s.key === record.scope)) continue;
    if (!(await withinLimits(deps, ctx, record, route))) continue;
    world.touched.add(record.id);
    const revived = await reviveWithinLimits(deps, record, route);
    if (!revived) continue;
    await deps.decisions.record({
      kind: 'retry',
      reason: `failed dispatch revived: its job still waits (last error: ${record.error ?? 'none'})`,
      dispatch_id: record.id,
      route: record.route,
      scope: record.scope,
    });
    ctx.startProvision(revived);
  }
};

/**
 * The revive itself, with the route's caps counted in its own transaction (the check above is
 * the cheap early one): an accept on any replica racing it cannot push the fleet over a cap.
 * At the cap nothing is written and the dispatch waits for the next pass.
 */
async function reviveWithinLimits(
  deps: ServiceDeps,
  record: DispatchRecord,
  route: ServiceDeps['config']['routes'][number],
): Promise<DispatchRecord | undefined> {
  try {
    return await deps.store.transition(
      record.id,
      ['failed'],
      'registering',
      deps.clock.now(),
      {
        reason: 'revived: its job still waits',
        error: null,
        // A new VM name and idempotency key: a VM a failed release left behind is never adopted.
        retries: record.retries + 1,
        ...NO_VM,
      },
      { limits: liveLimits(deps, route.limits) },
    );
  } catch (error) {
    if (error instanceof LiveLimitError) return undefined;
    throw error;
  }
}

/** 30 s after the first failure, doubling with each one after, at most 10 min. */
export function reviveDelay(record: DispatchRecord): number {
  const failures = record.transitions.filter((t) => t.state === 'failed').length;
  return Math.min(RECONCILE.reviveAfterMs * 2 ** Math.max(0, failures - 1), RECONCILE.maxReviveAfterMs);
}

async function withinLimits(
  deps: ServiceDeps,
  ctx: ReconcileContext,
  record: DispatchRecord,
  route: ServiceDeps['config']['routes'][number],
): Promise<boolean> {
  try {
    await checkLimits(deps, route.name, route.limits, record.scope);
    await ctx.usage?.check(deps, route.name, record.scope);
    return true;
  } catch (error) {
    if (error instanceof LimitReached) return false;
    throw error;
  }
}
