import type { DispatchRecord } from '@forgejo-fleet/store';
import { type Step, untouched, type World } from './context.js';
import { endDispatch } from './end-dispatch.js';

/**
 * The job left its scope's queue (cancelled, or taken and finished elsewhere) while our runner had
 * not picked it up: its `one-job --wait` would wait forever, so the VM and registration go. Only
 * dispatches before `running` qualify; a running job is never touched here.
 */
export const cancelledBeforePickup: Step = async (deps, ctx, world) => {
  for (const record of untouched(world)) {
    if (!leftQueue(record, world)) continue;
    if (record.state === 'running' || ctx.inFlight.has(record.id)) continue;
    world.touched.add(record.id);
    await endDispatch(deps, record, 'cancelled', {
      kind: 'cancel',
      reason: 'the job left the queue before our runner picked it up',
    });
  }
};

export function leftQueue(record: DispatchRecord, world: World): boolean {
  if (record.handle === null) return false;
  const queue = world.queues.get(record.scope);
  return queue !== undefined && !queue.has(record.handle);
}
