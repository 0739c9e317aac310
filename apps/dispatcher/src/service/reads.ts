import { type DispatchRecord, type ListQuery, routeScopeKey } from '@forgejo-fleet/store';
import { type BudgetState, budgetsResetAt } from './budgets.js';
import type { ServiceCore } from './core.js';
import { NotFound } from './errors.js';
import { type Caller, canSee, INTERNAL, visibleScopes } from './visibility.js';
import { hasWarmPool, targetIdle } from './warm/pool-size.js';
import { explainDispatch } from './why.js';

/**
 * The service's read paths. Each answers only within the caller's scopes: another scope's
 * dispatch is refused or explained exactly like one that does not exist, so a client cannot even
 * learn that an id is taken.
 */
export function readPaths(core: ServiceCore) {
  const { deps, warm, usage } = core;
  const { store } = deps;
  return {
    /** One dispatch. */
    async get(id: string, caller: Caller = INTERNAL): Promise<DispatchRecord> {
      const record = await store.get(id);
      if (!record || !canSee(caller, record.scope)) throw new NotFound(`no dispatch ${id}`);
      return record;
    },

    /** A page of the dispatches the caller may see (filtered in the store, so cursors stay whole). */
    list(query: Omit<ListQuery, 'scopes'>, caller: Caller = INTERNAL) {
      const scopes = visibleScopes(caller);
      return store.list(scopes === undefined ? query : { ...query, scopes });
    },

    /**
     * The configured routes. Live VM counts are the caller's own scopes' (every scope for `*`);
     * warm pool VMs belong to no scope until claimed, so only a `*` caller sees their counts.
     */
    async routeViews(caller: Caller = INTERNAL) {
      const live = await store.countLive();
      const pool = warm ? await store.listWarm() : [];
      const scopes = visibleScopes(caller);
      const liveOn = (route: string) =>
        scopes === undefined
          ? (live.byRoute.get(route) ?? 0)
          : scopes.reduce((sum, scope) => sum + (live.byRouteScope.get(routeScopeKey(route, scope)) ?? 0), 0);
      const warmCount = (count: () => number) => (scopes === undefined ? count() : null);
      const onRoute = (route: string, states: readonly string[]) =>
        pool.filter((vm) => vm.route === route && states.includes(vm.state)).length;
      return deps.config.routes.map((route) => ({
        name: route.name,
        labels: [...route.labels],
        runner_labels: [...route.runner_labels],
        providers: [...route.providers],
        limits: { max_vms: route.limits.max_vms, max_vms_per_scope: route.limits.max_vms_per_scope ?? null },
        live_vms: liveOn(route.name),
        warm: hasWarmPool(route)
          ? {
              target: targetIdle(route, deps.clock.now()),
              idle: warmCount(() => onRoute(route.name, ['idle'])),
              booting: warmCount(() => onRoute(route.name, ['booting', 'creating'])),
            }
          : null,
      }));
    },

    /**
     * Today's budgets the caller may see, each with when it resets (the next UTC midnight, epoch
     * ms). A scoped client sees its own scopes' caps only: a route's cap sums every tenant's use,
     * so only a `*` client sees it.
     */
    async budgets(caller: Caller = INTERNAL): Promise<(BudgetState & { readonly resetsAt: number })[]> {
      const states = await usage.all(deps);
      const resetsAt = budgetsResetAt(deps.clock.now());
      return states.filter((state) => canSee(caller, state.scope)).map((state) => ({ ...state, resetsAt }));
    },

    /** The dispatch by id or job handle, explained as readable text. */
    async why(
      idOrHandle: string,
      caller: Caller = INTERNAL,
    ): Promise<{ record: DispatchRecord | undefined; text: string }> {
      const found = (await store.get(idOrHandle)) ?? (await store.getByHandle(idOrHandle));
      const record = found && canSee(caller, found.scope) ? found : undefined;
      return explainDispatch(deps, core, idOrHandle, record, caller);
    },

    /** The decision log, only the caller's scopes (fleet-wide decisions only for `*`). */
    decisions(
      query: { dispatch_id?: string; after?: number; before?: number; limit: number },
      caller: Caller = INTERNAL,
    ) {
      const scopes = visibleScopes(caller);
      return store.listDecisions(scopes === undefined ? query : { ...query, scopes });
    },
  };
}
