import { parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { type Step, untouched, type World } from './context.js';
import { endDispatch } from './end-dispatch.js';

/**
 * The job left its scope's queue while our runner had not picked it up (cancelled, or taken and
 * finished elsewhere): its `one-job --wait` would wait forever, so the VM and registration go.
 * A job that ran on our runner and finished between two passes also leaves the queue, so the
 * registration decides: Forgejo deletes an ephemeral runner once its task is done (or stopped),
 * so a registration that still exists never ran the job. A running dispatch is never touched here.
 */
export const cancelledBeforePickup: Step = async (deps, ctx, world) => {
  for (const record of untouched(world)) {
    if (!leftQueue(record, world)) continue;
    if (record.state === 'running' || ctx.inFlight.has(record.id)) continue;
    const took = await runnerTookAJob(deps, record);
    if (took === undefined) continue; // could not tell: look again next pass
    // Before `booting` the VM is not on record: the resume step ends such a dispatch.
    if (took) {
      if (record.state === 'booting') world.touched.add(record.id); // it powers off; finish cleans up
      continue;
    }
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

/** True when our registration is gone (its task ran), false when it still waits, undefined on error. */
export async function runnerTookAJob(
  deps: ServiceDeps,
  record: DispatchRecord,
): Promise<boolean | undefined> {
  if (record.runner === null) return false;
  try {
    const runner = await deps.forgejoFor(record.scope).getRunner(parseScope(record.scope), record.runner.id);
    return runner === undefined;
  } catch (error) {
    deps.observer.error('forgejo');
    deps.log.warn({ dispatchId: record.id, err: errorSummary(error) }, 'runner lookup failed');
    return undefined;
  }
}
