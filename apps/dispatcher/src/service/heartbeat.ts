import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';

/**
 * How often a replica marks the dispatches it is provisioning (`Store.touch`). Well inside the
 * resume step's grace (RECONCILE.resumeAfterMs, 30 s) and the first pickup retry's backoff
 * (15 s), so a live replica's work is never resumed by another one, even with a late beat or two.
 */
export const HEARTBEAT_MS = 5_000;

export type Timer = (fn: () => void, ms: number) => () => void;

/**
 * Beats while `ids()` is not empty: one write per interval for all of this process's in-flight
 * dispatches. `wake()` after adding work starts it; it stops by itself once nothing is in flight.
 * A failed beat is logged and the next one tries again: a missed beat can only let a resume come
 * early, which the create's idempotency key and the compare-and-set transitions absorb.
 */
export function heartbeat(
  deps: Pick<ServiceDeps, 'store' | 'clock' | 'log'>,
  ids: () => string[],
  timer: Timer,
) {
  let armed = false;

  function arm(): void {
    armed = true;
    timer(() => void beat(), HEARTBEAT_MS);
  }

  async function beat(): Promise<void> {
    armed = false;
    const working = ids();
    if (working.length === 0) return;
    arm();
    try {
      await deps.store.touch(working, deps.clock.now());
    } catch (error) {
      deps.log.warn(
        { err: errorSummary(error), dispatches: working.length },
        'provisioning heartbeat failed',
      );
    }
  }

  return {
    wake(): void {
      if (!armed) arm();
    },
  };
}
