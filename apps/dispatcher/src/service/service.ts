import { acceptDispatch } from './accept.js';
import { cancelDispatch } from './cancel.js';
import { buildCore, type ServiceOptions } from './core.js';
import { Unavailable } from './errors.js';
import { leadershipOf } from './leadership.js';
import { checkReady } from './readiness.js';
import { readPaths } from './reads.js';
import { type ReconcileContext, reconcileOnce } from './reconcile/index.js';
import type { DispatchRequest } from './request.js';
import type { Caller } from './visibility.js';
import type { PollAnswer } from './warm/pool.js';

export type { ServiceOptions } from './core.js';
export type DispatchService = ReturnType<typeof createDispatchService>;

/**
 * The dispatcher's use cases, independent of HTTP: accept (here), the read paths (`reads.ts`),
 * cancel (`cancel.ts`), the warm pool's agent, readiness and the reconciler, over one shared
 * core (`core.ts`).
 */
export function createDispatchService(options: ServiceOptions) {
  const core = buildCore(options);
  const { deps, health, usage, warm, provisioning } = core;
  const reads = readPaths(core);
  let accepting = true;
  const reconcileContext: ReconcileContext = {
    inFlight: { has: (id: string) => provisioning.has(id) } as ReadonlySet<string>,
    startProvision: (record) => provisioning.start(record),
    firstSeen: new Map(),
    deleted: new Map(),
    lastRegistrationSweep: Number.NEGATIVE_INFINITY,
    foreign: core.foreign,
    notes: core.notes,
    usage,
    ...(warm ? { warm } : {}),
    ...(core.reuse ? { reuse: core.reuse } : {}),
  };

  return {
    deps,
    ...reads,

    /** Writes the intent and starts provisioning in the background; returns once the intent is stored. */
    async dispatch(request: DispatchRequest, caller: Caller) {
      if (!accepting) throw new Unavailable('the dispatcher is shutting down', { retryAfter: 5 });
      // Not serialized: the store's insert enforces the limits atomically, also across replicas.
      const result = await acceptDispatch(deps, { health, usage }, request, caller);
      if (result.created) provisioning.start(result.record);
      return result;
    },

    /** Cancels a live dispatch: deletes its VM and runner registration. Cancelling twice is fine. */
    cancel: (id: string, caller: Caller) => cancelDispatch(core, reads.get, id, caller),

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

    /** Today's use of every configured budget (metrics). */
    budgetUse: () => usage.all(deps),

    /** Providers whose circuit is open now (metrics). */
    openCircuits: (): string[] => Object.keys(health.snapshot(deps.clock.now()).circuits),

    /** The store takes a write and Forgejo answers (fixed words, see `readiness.ts`). */
    ready: (signal?: AbortSignal) => checkReady(deps, accepting, signal),

    /** One pass on the leader; nothing on a follower (see leadership.ts). */
    reconcile: async (signal?: AbortSignal): Promise<void> => {
      await leadershipOf(deps).lead((leading) => reconcileOnce(deps, reconcileContext, leading), signal);
    },

    /** Refuses new dispatches from now on (graceful shutdown); running work continues. */
    stopAccepting(): void {
      accepting = false;
    },

    /** Waits for background provisioning to settle (graceful shutdown, tests). */
    async drain(): Promise<void> {
      await provisioning.drain();
      await warm?.drain();
    },
  };
}
