import { parseScope } from '@forgejo-fleet/forgejo';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import type { ForeignThing } from '../foreign-sightings.js';
import { foreignStore, parseRunnerDescription } from '../ownership.js';
import { RECONCILE, type ReconcileContext, type Step } from './context.js';

/**
 * Runner registrations of ours that no live dispatch holds: left by a crash between registering
 * and storing the runner, a lost delete, or an old database. "Ours" means both the name prefix of
 * a route and the description naming this fleet, a dispatch and this store (or no store: made
 * before store ids): a runner anyone else registered never matches, and another store's
 * registration is only reported. Held by an ended dispatch → deleted now; unknown dispatch → after the orphan grace.
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
    const foreign: ForeignThing[] = [];
    for (const runner of runners) {
      const mark = ourMark(deps, runner);
      if (mark === undefined) continue;
      const other = foreignStore(deps.store.storeId, mark.storeId, deps.config.store.adopt_store_ids);
      if (other !== undefined) {
        // Another store's registration (a second dispatcher sharing our fleet id): never ours to delete.
        foreign.push({ where: scope.key, id: String(runner.id), storeId: other });
        reportForeign(deps, ctx, world.now, scope.key, runner, other);
        continue;
      }
      const { dispatchId } = mark;
      if (held.has(`${scope.key}\u0000${runner.id}`)) continue;
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
    ctx.foreign?.setRegistrations(scope.key, foreign);
  }
  for (const key of ctx.firstSeen.keys()) {
    if (key.startsWith('runner\u0000') && !seenNow.has(key)) ctx.firstSeen.delete(key);
  }
};

/**
 * The dispatch (and store, when marked) of a registration this fleet made, or undefined for
 * anyone else's runner: the description must be one we write and the name one of our prefixes.
 */
function ourMark(
  deps: ServiceDeps,
  runner: { name: string; description: string },
): { dispatchId: string; storeId: string | undefined } | undefined {
  const parsed = parseRunnerDescription(runner.description);
  if (parsed === undefined || parsed.fleetId !== deps.config.fleet_id) return undefined;
  const { dispatchId, storeId } = parsed;
  const prefixes = new Set([
    deps.config.runner.name_prefix ?? deps.config.fleet_id,
    ...deps.config.routes.map(
      (r) => r.runner?.name_prefix ?? deps.config.runner.name_prefix ?? deps.config.fleet_id,
    ),
  ]);
  return [...prefixes].some((prefix) => runner.name === `${prefix}-${dispatchId}`.slice(0, 63))
    ? { dispatchId, storeId }
    : undefined;
}

function reportForeign(
  deps: ServiceDeps,
  ctx: ReconcileContext,
  now: number,
  scope: string,
  runner: { id: number; name: string },
  storeId: string,
): void {
  if (
    ctx.foreign &&
    !ctx.foreign.shouldLog(`runner\u0000${scope}\u0000${runner.id}`, now, RECONCILE.foreignReportMs)
  )
    return;
  deps.log.warn(
    {
      scope,
      runnerId: runner.id,
      runner: runner.name,
      foreignStoreId: storeId,
      fleetId: deps.config.fleet_id,
    },
    'runner registration of another store with our fleet id left alone: two dispatchers share this fleet_id',
  );
}
