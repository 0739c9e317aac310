import type { DispatchRecord, DispatchState, NewDecision } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { releaseResources } from '../release.js';

/**
 * Ends a live dispatch the reconciler gave up on: moves it to `to` (compare-and-set from the state
 * it was seen in), then releases its VM and registration. The end is recorded first so the
 * decision holds even when a delete fails: a VM or registration left behind belongs to an ended
 * dispatch, and the orphan and stale-registration sweeps delete it on the next passes.
 */
export async function endDispatch(
  deps: ServiceDeps,
  record: DispatchRecord,
  to: Extract<DispatchState, 'failed' | 'cancelled' | 'finished'>,
  decision: { kind: NewDecision['kind']; reason: string },
): Promise<boolean> {
  const log = deps.log.child({ dispatchId: record.id });
  const ended = await deps.store.transition(record.id, [record.state], to, deps.clock.now(), {
    reason: decision.reason,
    ...(to === 'failed' ? { error: decision.reason } : {}),
  });
  if (!ended) return false;
  await releaseResources(deps, record, log, decision.reason);
  await deps.decisions.record({
    kind: decision.kind,
    reason: decision.reason,
    dispatch_id: record.id,
    route: record.route,
    scope: record.scope,
    provider: record.provider,
    choice: record.machine,
  });
  log.warn({ reason: decision.reason, state: to }, 'dispatch ended by the reconciler');
  return true;
}
