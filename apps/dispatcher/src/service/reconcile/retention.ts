import { errorSummary } from '../errors.js';
import { RECONCILE, type Step } from './context.js';

const DAY_MS = 86_400_000;

/**
 * Prunes what aged past `store.retention`: ended dispatches with their transitions, decisions,
 * retired warm VMs. At most every few minutes, in batches (RECONCILE.prune*), so one pass never
 * holds the store's write lock for long; the next pass takes the rest. Never a live dispatch.
 *
 * The cut-off never passes the start of today (UTC): the daily budgets sum today's VM time from
 * the dispatches that ran today, even with a retention shorter than a day.
 */
export const pruneRetention: Step = async (deps, ctx, world, signal) => {
  if (ctx.lastPrune !== undefined && world.now - ctx.lastPrune < RECONCILE.pruneEveryMs) return;
  ctx.lastPrune = world.now;
  const before = Math.min(world.now - deps.config.store.retention, Math.floor(world.now / DAY_MS) * DAY_MS);
  const total = { dispatches: 0, decisions: 0, warm_vms: 0 };
  for (let batch = 0; batch < RECONCILE.pruneBatchesPerPass; batch++) {
    if (signal?.aborted) break;
    let pruned: Awaited<ReturnType<typeof deps.store.prune>>;
    try {
      pruned = await deps.store.prune(before, RECONCILE.pruneBatch);
    } catch (error) {
      deps.log.warn({ err: errorSummary(error) }, 'retention prune failed; retrying next time');
      break;
    }
    total.dispatches += pruned.dispatches;
    total.decisions += pruned.decisions;
    total.warm_vms += pruned.warm_vms;
    const full = Math.max(pruned.dispatches, pruned.decisions, pruned.warm_vms) >= RECONCILE.pruneBatch;
    if (!full) break;
  }
  if (total.dispatches + total.decisions + total.warm_vms > 0) {
    deps.log.info(
      { ...total, before: new Date(before).toISOString() },
      'pruned records past store.retention',
    );
  }
};
