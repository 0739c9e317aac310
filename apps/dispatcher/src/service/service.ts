import { parseScope } from '@forgejo-fleet/forgejo';
import { createLimiter, type Limiter } from '@forgejo-fleet/runtime';
import { type DispatchRecord, LIVE_STATES, type ListQuery, routeScopeKey } from '@forgejo-fleet/store';
import { acceptDispatch } from './accept.js';
import { UsageMeter } from './budgets.js';
import { createDecisionLog } from './decision-log.js';
import type { ServiceDeps } from './deps.js';
import { Conflict, errorSummary, NotFound, Unavailable } from './errors.js';
import { ForeignSightings } from './foreign-sightings.js';
import { observedStore } from './observed-store.js';
import { NO_OBSERVER, type ServiceObserver } from './observer.js';
import { ProviderCounts } from './provider-counts.js';
import { ProviderHealth } from './provider-health.js';
import { type ProvisionContext, provision } from './provision.js';
import { readinessWord } from './readiness.js';
import { type ReconcileContext, reconcileOnce } from './reconcile/index.js';
import { releaseResources } from './release.js';
import type { DispatchRequest } from './request.js';
import { type Caller, canSee, INTERNAL, visibleScopes } from './visibility.js';
import { type PollAnswer, WarmPool, type WarmUserData } from './warm/pool.js';
import { hasWarmPool, targetIdle } from './warm/pool-size.js';
import { warmUserDataFromConfig } from './warm/user-data.js';
import { explainDispatch } from './why.js';

/** How long a cancel waits for the dispatch's create in flight to finish and clean up. */
const CANCEL_WAIT_MS = 10_000;

function settleWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function realTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

export type DispatchService = ReturnType<typeof createDispatchService>;

export type ServiceOptions = Omit<ServiceDeps, 'decisions' | 'observer'> & {
  readonly observer?: ServiceObserver;
  /** Renders a warm VM's user-data (default: the cloud-init package's warm renderer). */
  readonly warmUserData?: WarmUserData;
  /** Schedules `fn` after `ms`, returning a cancel (agent poll holds; tests pass a fake). */
  readonly timer?: (fn: () => void, ms: number) => () => void;
  /** Appends a line to the decision log file; absent: the store keeps the log alone. */
  readonly appendDecisionLine?: (line: string) => void;
};

/** The dispatcher's use cases, independent of HTTP. */
export function createDispatchService(options: ServiceOptions) {
  const observer = options.observer ?? NO_OBSERVER;
  const store = observedStore(options.store, observer);
  const deps: ServiceDeps = {
    ...options,
    store,
    observer,
    decisions: createDecisionLog({
      store,
      now: () => options.clock.now(),
      log: options.log,
      ...(options.appendDecisionLine ? { appendLine: options.appendDecisionLine } : {}),
    }),
  };
  const health = new ProviderHealth();
  const foreign = new ForeignSightings();
  const usage = new UsageMeter(deps);
  const slots = new Map<string, Limiter>();
  const base: ProvisionContext = {
    health,
    usage,
    counts: new ProviderCounts({ store, now: () => deps.clock.now() }),
    createSlots(provider) {
      let slot = slots.get(provider);
      if (!slot) {
        slot = createLimiter(deps.config.providers[provider]?.create_concurrency ?? 5);
        slots.set(provider, slot);
      }
      return slot;
    },
  };
  const warm =
    deps.config.agent !== undefined && deps.config.routes.some(hasWarmPool)
      ? new WarmPool(
          deps,
          base,
          options.warmUserData ?? warmUserDataFromConfig(deps.config),
          options.timer ?? realTimer,
        )
      : undefined;
  const provisionContext: ProvisionContext = warm ? { ...base, warm } : base;
  const inFlight = new Map<string, Promise<void>>();
  let accepting = true;
  // Limit checks and the intent write run one at a time, so concurrent requests cannot all
  // pass a limit that only has room for one. (Several replicas need the store to do this.)
  let acceptQueue: Promise<unknown> = Promise.resolve();
  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = acceptQueue.then(work);
    acceptQueue = result.catch(() => undefined);
    return result;
  }

  function startProvision(record: DispatchRecord): void {
    if (inFlight.has(record.id)) return;
    const work = provision(deps, provisionContext, record)
      .catch((error: unknown) => {
        observer.error('internal');
        deps.log.error(
          { dispatchId: record.id, err: errorSummary(error) },
          'provisioning crashed; the reconciler will resume it',
        );
      })
      .finally(() => inFlight.delete(record.id));
    inFlight.set(record.id, work);
  }

  const reconcileContext: ReconcileContext = {
    inFlight: { has: (id: string) => inFlight.has(id) } as ReadonlySet<string>,
    startProvision,
    firstSeen: new Map(),
    deleted: new Map(),
    lastRegistrationSweep: Number.NEGATIVE_INFINITY,
    foreign,
    usage,
    ...(warm ? { warm } : {}),
  };

  return {
    deps,

    /** Writes the intent and starts provisioning in the background; returns once the intent is stored. */
    async dispatch(request: DispatchRequest, caller: Caller) {
      if (!accepting) throw new Unavailable('the dispatcher is shutting down', { retryAfter: 5 });
      const result = await serialized(() => acceptDispatch(deps, { health, usage }, request, caller));
      if (result.created) startProvision(result.record);
      return result;
    },

    /**
     * One dispatch. Another scope's dispatch is refused exactly like one that does not exist, so
     * a client cannot even learn that an id is taken.
     */
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

    /** Cancels a live dispatch: deletes its VM and runner registration. Cancelling twice is fine. */
    async cancel(id: string, caller: Caller): Promise<DispatchRecord> {
      const record = await this.get(id, caller);
      if (record.state === 'cancelled') return record;
      const reason = `cancelled by ${caller.name}`;
      const cancelled = await store.transition(id, LIVE_STATES, 'cancelled', deps.clock.now(), { reason });
      if (!cancelled) {
        const now = await this.get(id);
        throw new Conflict(`dispatch ${id} already ended as ${now.state}`);
      }
      await deps.decisions.record({
        kind: 'cancel',
        reason,
        dispatch_id: id,
        route: cancelled.route,
        scope: cancelled.scope,
        provider: cancelled.provider,
      });
      await releaseResources(deps, cancelled, deps.log.child({ dispatchId: id }), reason);
      // A create still in flight finds the dispatch cancelled and deletes what it made; wait for it
      // (briefly), so a cancel answers once the VM is gone rather than while it is being made.
      const provisioning = inFlight.get(id);
      if (provisioning) await settleWithin(provisioning, CANCEL_WAIT_MS);
      return cancelled;
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
              idle: warmCount(
                () => pool.filter((vm) => vm.route === route.name && vm.state === 'idle').length,
              ),
              booting: warmCount(
                () =>
                  pool.filter(
                    (vm) => vm.route === route.name && (vm.state === 'booting' || vm.state === 'creating'),
                  ).length,
              ),
            }
          : null,
      }));
    },

    /** One poll of a warm VM's agent (the agent endpoint). */
    agentPoll(
      vmId: string,
      secret: string,
      signal?: AbortSignal,
      admit?: () => boolean,
    ): Promise<PollAnswer> {
      if (!warm) return Promise.resolve({ status: 401 });
      return warm.poll(vmId, secret, signal, admit);
    },

    /** Tops the warm pools up now (also done by every reconcile pass). */
    async refillWarm(): Promise<void> {
      await warm?.refill();
    },

    /**
     * The dispatch by id or job handle, explained as readable text. Another scope's dispatch is
     * explained exactly like one that does not exist.
     */
    async why(
      idOrHandle: string,
      caller: Caller = INTERNAL,
    ): Promise<{ record: DispatchRecord | undefined; text: string }> {
      const found = (await store.get(idOrHandle)) ?? (await store.getByHandle(idOrHandle));
      const record = found && canSee(caller, found.scope) ? found : undefined;
      return explainDispatch(deps, { health, usage, foreign }, idOrHandle, record, caller);
    },

    /** The decision log, only the caller's scopes (fleet-wide decisions only for `*`). */
    decisions(query: { dispatch_id?: string; after?: number; limit: number }, caller: Caller = INTERNAL) {
      const scopes = visibleScopes(caller);
      return store.listDecisions(scopes === undefined ? query : { ...query, scopes });
    },

    /**
     * The store takes a write (a probe, so a full disk is "not ready") and Forgejo answers.
     * Checks are fixed words: upstream error text is logged, never answered (readiness is often
     * served without auth).
     */
    async ready(signal?: AbortSignal): Promise<{ ok: boolean; checks: Record<string, string> }> {
      const checks: Record<string, string> = {};
      checks.store = (await store.ping()) ? 'ok' : 'unavailable';
      if (checks.store !== 'ok')
        deps.log.warn('store write probe failed: check free disk space and store.path');
      if (!accepting) checks.shutdown = 'shutting down';
      const first = deps.config.scopes[0];
      if (first) {
        try {
          await deps.forgejoFor(first.key).listJobs(parseScope(first.key), signal ? { signal } : {});
          checks.forgejo = 'ok';
        } catch (error) {
          checks.forgejo = readinessWord(error);
          deps.log.warn({ scope: first.key, err: errorSummary(error) }, 'readiness: Forgejo check failed');
        }
      }
      return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
    },

    reconcile: (signal?: AbortSignal) => reconcileOnce(deps, reconcileContext, signal),

    /** Refuses new dispatches from now on (graceful shutdown); running work continues. */
    stopAccepting(): void {
      accepting = false;
    },

    /** Waits for background provisioning to settle (graceful shutdown, tests). */
    async drain(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight.values()]);
      await warm?.drain();
    },
  };
}
