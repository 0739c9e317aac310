import { parseScope } from '@forgejo-fleet/forgejo';
import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { errorClass, errorSummary } from '../errors.js';
import { RECONCILE, type World } from './context.js';

/**
 * Gathers what a pass needs: one list call per provider object (owned by the fleet tag, across all
 * pages) and one job-queue call per scope that has a dispatch waiting for its job. A failed call
 * leaves its entry out, and every step reads "not listed" as "unknown", never as "gone".
 */
export async function observe(
  deps: ServiceDeps,
  live: readonly DispatchRecord[],
  signal?: AbortSignal,
): Promise<World> {
  const now = deps.clock.now();
  const instances = new Map<Provider, ReadonlyMap<string, Instance>>();
  for (const provider of everyProvider(deps)) {
    const started = deps.clock.now();
    try {
      const list = await provider.list({ 'forgejo-fleet': deps.config.fleet_id }, signal ? { signal } : {});
      deps.observer.providerCall(provider.name, 'list', 'ok', deps.clock.now() - started);
      instances.set(provider, new Map(list.map((instance) => [instance.id, instance])));
    } catch (error) {
      deps.observer.providerCall(provider.name, 'list', errorClass(error), deps.clock.now() - started);
      deps.log.warn(
        { provider: provider.name, err: errorSummary(error) },
        'instance list failed; retrying next pass',
      );
    }
  }
  const failed = (await deps.store.list({ state: 'failed', limit: 500 })).items.filter(
    (r) => r.handle !== null && now - r.updated_at < RECONCILE.reviveWindowMs,
  );
  const scopes = new Set(
    [...live.filter((r) => r.handle !== null && r.state !== 'running'), ...failed].map((r) => r.scope),
  );
  const queues = new Map<string, ReadonlyMap<string, 'waiting' | 'running'>>();
  for (const scope of scopes) {
    try {
      const jobs = await deps.forgejoFor(scope).listJobs(parseScope(scope), signal ? { signal } : {});
      queues.set(
        scope,
        new Map(jobs.map((job) => [job.handle, job.status === 'running' ? 'running' : 'waiting'])),
      );
    } catch (error) {
      deps.observer.error('forgejo');
      deps.log.warn({ scope, err: errorSummary(error) }, 'job list failed; job states update next pass');
    }
  }
  return { now, live, failed, instances, queues, touched: new Set() };
}

/** Each distinct provider object: the default one per provider and each scope's override. */
export function everyProvider(deps: ServiceDeps): Set<Provider> {
  const providers = new Set<Provider>();
  for (const name of Object.keys(deps.config.providers)) {
    for (const scope of deps.config.scopes) {
      try {
        providers.add(deps.providerFor(name, scope.key));
      } catch (error) {
        deps.log.warn({ provider: name, scope: scope.key, err: errorSummary(error) }, 'provider unavailable');
      }
    }
  }
  return providers;
}
