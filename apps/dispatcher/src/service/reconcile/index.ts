import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { reuseParked } from '../reuse/step.js';
import { cancelledBeforePickup } from './cancelled.js';
import type { ReconcileContext, Step } from './context.js';
import { finishGone } from './finish.js';
import { reportForeign } from './foreign.js';
import { lifetimeCap } from './lifetime.js';
import { rememberNotes } from './notes.js';
import { observe } from './observe.js';
import { reapOrphans } from './orphans.js';
import { pickupTimeout } from './pickup-timeout.js';
import { resumeStuck } from './resume.js';
import { pruneRetention } from './retention.js';
import { reviveFailed } from './revive.js';
import { markRunning } from './running.js';
import { sweepRegistrations } from './stale-registrations.js';
import { warmPool } from './warm-pool.js';

export { RECONCILE, type ReconcileContext } from './context.js';

/**
 * Order matters: finished VMs first (a VM that powered off is done whatever else holds), then
 * pickups, then the rules that kill (cancel, the lifetime cap, pickup timeout), then resuming what a crash
 * left, and last the sweeps for what no dispatch owns. Each step re-reads nothing the earlier
 * steps changed except through compare-and-set, so a record ended by one step is skipped by the next.
 */
const STEPS: readonly [string, Step][] = [
  ['finish', finishGone],
  ['running', markRunning],
  ['cancelled-before-pickup', cancelledBeforePickup],
  ['lifetime', lifetimeCap],
  ['pickup-timeout', pickupTimeout],
  ['resume', resumeStuck],
  ['revive', reviveFailed],
  ['reuse', reuseParked],
  ['orphans', reapOrphans],
  ['stale-registrations', sweepRegistrations],
  ['foreign', reportForeign],
  ['notes', rememberNotes],
  ['warm-pool', warmPool],
  ['retention', pruneRetention],
];

/** One reconcile pass: one list per provider, one queue read per scope, then every step. */
export async function reconcileOnce(
  deps: ServiceDeps,
  ctx: ReconcileContext,
  signal?: AbortSignal,
): Promise<void> {
  const started = deps.clock.now();
  const live = await deps.store.listLive();
  const world = await observe(deps, live, signal);
  for (const [name, step] of STEPS) {
    if (signal?.aborted) break;
    try {
      await step(deps, ctx, world, signal);
    } catch (error) {
      deps.observer.error('reconcile');
      deps.log.error({ step: name, err: errorSummary(error) }, 'reconcile step failed; next pass retries');
    }
  }
  deps.observer.reconciled(deps.clock.now() - started);
}
