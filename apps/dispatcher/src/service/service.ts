import { parseScope } from '@forgejo-fleet/forgejo';
import { type DispatchRecord, LIVE_STATES, type ListQuery } from '@forgejo-fleet/store';
import { ApiError } from '../http/errors.js';
import type { DispatchRequest } from '../http/schemas.js';
import { acceptDispatch, type Caller } from './accept.js';
import { Cooldowns } from './cooldown.js';
import type { ServiceDeps } from './deps.js';
import { provision } from './provision.js';
import { reconcileOnce } from './reconcile.js';
import { releaseResources } from './release.js';

export type DispatchService = ReturnType<typeof createDispatchService>;

/** The dispatcher's use cases, independent of HTTP. */
export function createDispatchService(deps: ServiceDeps) {
  const cooldowns = new Cooldowns();
  const inFlight = new Set<Promise<void>>();
  // Limit checks and the intent write run one at a time, so concurrent requests cannot all
  // pass a limit that only has room for one. (Several replicas need the store to do this.)
  let acceptQueue: Promise<unknown> = Promise.resolve();
  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = acceptQueue.then(work);
    acceptQueue = result.catch(() => undefined);
    return result;
  }

  function track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      deps.log.error(
        { err: (error as Error).message },
        'provisioning crashed; the reconciler will finish it',
      );
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  }

  return {
    /** Writes the intent and starts provisioning in the background; returns once the intent is stored. */
    async dispatch(request: DispatchRequest, caller: Caller) {
      const result = await serialized(() => acceptDispatch(deps, cooldowns, request, caller));
      if (result.created) track(provision(deps, cooldowns, result.record));
      return result;
    },

    async get(id: string): Promise<DispatchRecord> {
      const record = await deps.store.get(id);
      if (!record) throw new ApiError('not_found', `no dispatch ${id}`);
      return record;
    },

    list(query: ListQuery) {
      return deps.store.list(query);
    },

    /** Cancels a live dispatch: deletes its VM and runner registration. Cancelling twice is fine. */
    async cancel(id: string, caller: Caller): Promise<DispatchRecord> {
      const record = await this.get(id);
      if (caller.scopes !== '*' && !caller.scopes.includes(record.scope)) {
        throw new ApiError(
          'forbidden',
          `client "${caller.name}" may not cancel dispatches of ${record.scope}`,
        );
      }
      if (record.state === 'cancelled') return record;
      const cancelled = await deps.store.transition(id, LIVE_STATES, 'cancelled', deps.clock.now(), {
        reason: `cancelled by ${caller.name}`,
      });
      if (!cancelled) {
        const now = await this.get(id);
        throw new ApiError('conflict', `dispatch ${id} already ended as ${now.state}`);
      }
      await releaseResources(deps, cancelled, deps.log.child({ dispatchId: id }));
      return cancelled;
    },

    async routeViews() {
      const live = await deps.store.countLive();
      return deps.config.routes.map((route) => ({
        name: route.name,
        labels: [...route.labels],
        runner_labels: [...route.runner_labels],
        providers: [...route.providers],
        limits: { max_vms: route.limits.max_vms, max_vms_per_scope: route.limits.max_vms_per_scope ?? null },
        live_vms: live.byRoute.get(route.name) ?? 0,
      }));
    },

    /** Store open and Forgejo reachable (one cheap call per distinct token). */
    async ready(signal?: AbortSignal): Promise<{ ok: boolean; checks: Record<string, string> }> {
      const checks: Record<string, string> = {};
      checks.store = (await deps.store.ping()) ? 'ok' : 'unavailable';
      const first = deps.config.scopes[0];
      if (first) {
        try {
          await deps.forgejoFor(first.key).listJobs(parseScope(first.key), signal ? { signal } : {});
          checks.forgejo = 'ok';
        } catch (error) {
          checks.forgejo = (error as Error).message;
        }
      }
      return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
    },

    reconcile: (signal?: AbortSignal) => reconcileOnce(deps, signal),

    /** Waits for background provisioning to settle (graceful shutdown, tests). */
    async drain(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
