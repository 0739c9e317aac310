import type { DispatchRecord, DispatchState, NewDecision } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { releaseResources } from '../release.js';

/**
 * Ends a live dispatch the reconciler gave up on: releases its VM and registration, then moves it
 * to `to` (compare-and-set from the state it was seen in). When a delete fails the dispatch stays
 * as it is and the next pass tries again, so nothing is left behind.
 */
export async function endDispatch(
  deps: ServiceDeps,
  record: DispatchRecord,
  to: Extract<DispatchState, 'failed' | 'cancelled'>,
  decision: { kind: NewDecision['kind']; reason: string },
): Promise<boolean> {
  const log = deps.log.child({ dispatchId: record.id });
  const released = await releaseResources(deps, record, log, decision.reason);
  if (!released.ok) return false;
  const ended = await deps.store.transition(record.id, [record.state], to, deps.clock.now(), {
    reason: decision.reason,
    ...(to === 'failed' ? { error: decision.reason } : {}),
  });
  if (!ended) return false;
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
