import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { releaseResources } from '../release.js';
import { parkForReuse } from '../reuse/park.js';
import { runnerTookAJob } from './cancelled.js';
import { isGone, providerOf, type Step, untouched } from './context.js';
import { retryWithFreshVm } from './pickup-timeout.js';

/**
 * A VM that powered off or vanished means its job is over (one-job exits, the VM powers off):
 * delete what is left and mark the dispatch `finished`. A VM the list did not show is confirmed
 * with one `get` first, because some clouds list a just-created instance only seconds later.
 */
export const finishGone: Step = async (deps, ctx, world, signal) => {
  for (const record of untouched(world)) {
    if (signal?.aborted) return;
    if ((record.state !== 'booting' && record.state !== 'running') || record.instance_id === null) continue;
    const provider = providerOf(deps, record);
    const listed = provider === undefined ? undefined : world.instances.get(provider);
    if (provider === undefined || listed === undefined) continue;
    let instance = listed.get(record.instance_id);
    if (instance === undefined) {
      try {
        instance = await provider.get(record.instance_id, signal ? { signal } : {});
      } catch (error) {
        deps.log.warn({ dispatchId: record.id, err: errorSummary(error) }, 'instance lookup failed');
        continue;
      }
    }
    if (!isGone(instance)) continue;
    world.touched.add(record.id);
    // Gone before its job started (died while booting, or an agent that lost its assignment):
    // the job still waits, so it gets a fresh VM rather than an end.
    const route = deps.config.routes.find((r) => r.name === record.route);
    const waiting =
      record.handle !== null && world.queues.get(record.scope)?.get(record.handle) === 'waiting';
    if (record.state === 'booting' && waiting && route && record.retries < route.timeouts.pickup_retries) {
      const runnerGone = record.runner === null || (await runnerTookAJob(deps, record));
      if (runnerGone === undefined) continue; // cannot tell whether the job started: next pass
      if (runnerGone === false) {
        await retryWithFreshVm(
          deps,
          record,
          route,
          `vm ${instance === undefined ? 'gone' : instance.state} before its job started`,
        );
        continue;
      }
    }
    // Powered off inside its timers: its paid hour may serve the route's next job.
    if (ctx.reuse && instance && (await parkForReuse(deps, ctx.reuse, record, instance, provider))) continue;
    await finish(deps, record, instance === undefined ? 'instance gone' : `instance ${instance.state}`);
  }
};

async function finish(deps: ServiceDeps, record: DispatchRecord, reason: string): Promise<void> {
  const log = deps.log.child({ dispatchId: record.id });
  // A dispatch only ends once its VM and registration are gone, so a failed delete is retried on
  // the next pass instead of leaking.
  const released = await releaseResources(deps, record, log, reason);
  if (!released.ok) return;
  const finished = await deps.store.transition(
    record.id,
    ['booting', 'running'],
    'finished',
    deps.clock.now(),
    {
      reason,
    },
  );
  if (finished) log.info({ instanceId: record.instance_id, reason }, 'dispatch finished');
}
