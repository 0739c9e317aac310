import { type DispatchRecord, LIVE_STATES } from '@forgejo-fleet/store';
import type { ServiceCore } from './core.js';
import { Conflict } from './errors.js';
import { releaseResources } from './release.js';
import type { Caller } from './visibility.js';

/** How long a cancel waits for the dispatch's create in flight to finish and clean up. */
const CANCEL_WAIT_MS = 10_000;

/**
 * Cancels a live dispatch: deletes its VM and runner registration. Cancelling twice is fine; an
 * ended dispatch is a conflict. `get` is the read path's, so another scope's dispatch is refused
 * exactly like one that does not exist.
 */
export async function cancelDispatch(
  core: ServiceCore,
  get: (id: string, caller?: Caller) => Promise<DispatchRecord>,
  id: string,
  caller: Caller,
): Promise<DispatchRecord> {
  const { deps } = core;
  const record = await get(id, caller);
  if (record.state === 'cancelled') return record;
  const reason = `cancelled by ${caller.name}`;
  const cancelled = await deps.store.transition(id, LIVE_STATES, 'cancelled', deps.clock.now(), { reason });
  if (!cancelled) {
    const now = await get(id);
    throw new Conflict(`dispatch ${id} already ended as ${now.state}`);
  }
  await deps.decisions.record({
    kind: 'cancel',
    reason,
    dispatch_id: id,
    route: cancelled.route,
    scope: cancelled.scope,
    provider: cancelled.provider,
  });
  await releaseResources(deps, cancelled, deps.log.child({ dispatchId: id }), reason);
  // A create still in flight finds the dispatch cancelled and deletes what it made; wait for it
  // (briefly), so a cancel answers once the VM is gone rather than while it is being made.
  await core.provisioning.settle(id, CANCEL_WAIT_MS);
  return cancelled;
}
