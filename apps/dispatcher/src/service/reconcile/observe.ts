import { parseScope } from '@forgejo-fleet/forgejo';
import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { errorClass, errorSummary } from '../errors.js';
import { foreignStore, STORE_TAG } from '../ownership.js';
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
  const foreign = new Map<Provider, readonly Instance[]>();
  for (const provider of everyProvider(deps)) {
    const started = deps.clock.now();
    try {
      const list = await provider.list({ 'forgejo-fleet': deps.config.fleet_id }, signal ? { signal } : {});
      deps.observer.providerCall(provider.name, 'list', 'ok', deps.clock.now() - started);
      // Another store's VMs (a second dispatcher sharing our fleet id) never reach the steps, so
      // no step can adopt, finish or delete one; the foreign step reports them.
      const [ours, theirs] = partition(list, (i) =>
        foreignStore(deps.store.storeId, i.tags[STORE_TAG], deps.config.store.adopt_store_ids),
      );
      instances.set(provider, new Map(ours.map((instance) => [instance.id, instance])));
      foreign.set(provider, theirs);
    } catch (error) {
      // Shutdown cut the pass short: end it here, quietly, rather than act on half a picture.
      if (signal?.aborted) throw error;
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
      if (signal?.aborted) throw error;
      deps.observer.error('forgejo');
      deps.log.warn({ scope, err: errorSummary(error) }, 'job list failed; job states update next pass');
    }
  }
  return { now, live, failed, instances, foreign, queues, touched: new Set() };
}

function partition(list: readonly Instance[], foreignOf: (i: Instance) => string | undefined) {
  const ours: Instance[] = [];
  const theirs: Instance[] = [];
  for (const instance of list) (foreignOf(instance) === undefined ? ours : theirs).push(instance);
  return [ours, theirs] as const;
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
