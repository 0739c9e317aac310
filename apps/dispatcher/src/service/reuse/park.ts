import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { releaseResources } from '../release.js';
import type { ReuseDesk } from './desk.js';
import { paidHourLeft, wholeMinutes } from './paid-hour.js';
import { parkedFrom, parkedReason } from './parked.js';

/**
 * Whether the server of a dispatch whose VM powered itself off may serve another job: its route
 * reuses paid hours, its provider can rebuild, its job ended inside every timer, and its paid hour
 * has at least `min_left` left. Anything that ended otherwise (a timer, a failure, a cancel) never
 * reaches this: those paths delete.
 */
export function reusable(
  deps: Pick<ServiceDeps, 'config'>,
  record: DispatchRecord,
  instance: Instance,
  provider: Provider,
  now: number,
): { leftMs: number } | undefined {
  const route = deps.config.routes.find((r) => r.name === record.route);
  if (route === undefined || !route.reuse.paid_hour || provider.rebuild === undefined) return undefined;
  if (instance.state !== 'stopped' || instance.createdAt === undefined || record.machine === null)
    return undefined;
  if (!provider.choices.some((c) => c.key === record.machine)) return undefined;
  if (record.state !== 'booting' && record.state !== 'running') return undefined;
  const booted = record.transitions.find((t) => t.state === 'booting')?.at;
  const started = record.transitions.find((t) => t.state === 'running')?.at;
  if (booted === undefined || now - booted >= route.timeouts.max_lifetime) return undefined;
  if (started !== undefined && now - started >= route.timeouts.job) return undefined;
  const leftMs = paidHourLeft(instance.createdAt, now);
  return leftMs >= route.reuse.min_left ? { leftMs } : undefined;
}

/**
 * Ends a dispatch whose job is done but keeps its server for the route's next job: the runner
 * registration is deleted first (the server's old token dies before anything else happens to
 * it), then the dispatch finishes with the reason that marks the server as kept. Answers whether
 * it handled the dispatch (false: finish and delete as usual).
 */
export async function parkForReuse(
  deps: ServiceDeps,
  desk: ReuseDesk,
  record: DispatchRecord,
  instance: Instance,
  provider: Provider,
): Promise<boolean> {
  const now = deps.clock.now();
  const verdict = reusable(deps, record, instance, provider, now);
  if (verdict === undefined) return false;
  const log = deps.log.child({ dispatchId: record.id });
  const released = await releaseResources(deps, { ...record, provider: null, instance_id: null }, log);
  if (!released.ok) return true; // the registration must be gone first: next pass tries again
  const left = wholeMinutes(verdict.leftMs);
  const finished = await deps.store.transition(record.id, ['booting', 'running'], 'finished', now, {
    reason: parkedReason(instance.id, left),
  });
  if (finished === undefined) return true;
  const parked = parkedFrom(finished, instance);
  if (parked !== undefined) desk.offer(parked);
  await deps.decisions.record({
    kind: 'reuse',
    reason: `vm ${instance.id} kept for the next job of route ${record.route} (paid hour: ${left} min left); runner registration deleted`,
    dispatch_id: record.id,
    route: record.route,
    scope: record.scope,
    provider: record.provider,
    choice: record.machine,
  });
  log.info({ instanceId: instance.id, leftMinutes: left }, 'dispatch finished; vm kept for reuse');
  return true;
}
