import { parseScope } from '@forgejo-fleet/forgejo';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { runnerDescription } from '../provision.js';
import { RECONCILE, type Step } from './context.js';

/**
 * Runner registrations of ours that no live dispatch holds: left by a crash between registering
 * and storing the runner, a lost delete, or an old database. "Ours" means both the name prefix of
 * a route and the description naming this fleet and a dispatch: a runner anyone else registered
 * never matches. Held by an ended dispatch → deleted now; unknown dispatch → after the orphan grace.
 * Ephemeral runners Forgejo already removed after their job do not show up at all.
 */
export const sweepRegistrations: Step = async (deps, ctx, world, signal) => {
  if (world.now - ctx.lastRegistrationSweep < RECONCILE.registrationSweepMs) return;
  ctx.lastRegistrationSweep = world.now;
  const held = new Set(
    world.live.flatMap((r) => (r.runner === null ? [] : [`${r.scope}\u0000${r.runner.id}`])),
  );
  const seenNow = new Set<string>();
  for (const scope of deps.config.scopes) {
    if (signal?.aborted) return;
    let runners: Awaited<ReturnType<ReturnType<ServiceDeps['forgejoFor']>['listRunners']>>;
    try {
      runners = await deps.forgejoFor(scope.key).listRunners(scope.scope, signal ? { signal } : {});
    } catch (error) {
      deps.observer.error('forgejo');
      deps.log.warn({ scope: scope.key, err: errorSummary(error) }, 'runner list failed; sweeping next time');
      continue;
    }
    for (const runner of runners) {
      const dispatchId = ourDispatch(deps, runner);
      if (dispatchId === undefined || held.has(`${scope.key}\u0000${runner.id}`)) continue;
      if (ctx.inFlight.has(dispatchId)) continue;
      const key = `runner\u0000${scope.key}\u0000${runner.id}`;
      const record = await deps.store.get(dispatchId);
      const ended =
        record !== undefined &&
        (record.state === 'finished' || record.state === 'failed' || record.state === 'cancelled');
      const live = record !== undefined && !ended;
      if (live) continue; // a live dispatch between two registrations (resume): its own step deletes the old one
      if (!ended) {
        const first = ctx.firstSeen.get(key) ?? world.now;
        ctx.firstSeen.set(key, first);
        seenNow.add(key);
        if (world.now - first < deps.config.reconcile.orphan_grace) continue;
      }
      try {
        await deps.forgejoFor(scope.key).deleteRunner(parseScope(scope.key), runner.id);
      } catch (error) {
        deps.observer.error('forgejo');
        deps.log.warn(
          { scope: scope.key, runnerId: runner.id, err: errorSummary(error) },
          'stale runner delete failed',
        );
        continue;
      }
      await deps.decisions.record({
        kind: 'delete',
        reason: `stale runner registration ${runner.name} deleted: ${ended ? `dispatch ${dispatchId} ended` : 'no dispatch holds it'}`,
        dispatch_id: dispatchId,
        scope: scope.key,
        route: record?.route ?? null,
      });
    }
  }
  for (const key of ctx.firstSeen.keys()) {
    if (key.startsWith('runner\u0000') && !seenNow.has(key)) ctx.firstSeen.delete(key);
  }
};

const DESCRIPTION = /^forgejo-fleet (\S+) dispatch (d[a-z0-9]+)$/;

/** The dispatch id of a registration this fleet made, or undefined for anyone else's runner. */
function ourDispatch(deps: ServiceDeps, runner: { name: string; description: string }): string | undefined {
  const match = DESCRIPTION.exec(runner.description);
  if (match === null || match[1] !== deps.config.fleet_id) return undefined;
  const dispatchId = match[2] ?? '';
  if (runner.description !== runnerDescription(deps.config.fleet_id, dispatchId)) return undefined;
  const prefixes = new Set([
    deps.config.runner.name_prefix ?? deps.config.fleet_id,
    ...deps.config.routes.map(
      (r) => r.runner?.name_prefix ?? deps.config.runner.name_prefix ?? deps.config.fleet_id,
    ),
  ]);
  return [...prefixes].some((prefix) => runner.name === `${prefix}-${dispatchId}`.slice(0, 63))
    ? dispatchId
    : undefined;
}
