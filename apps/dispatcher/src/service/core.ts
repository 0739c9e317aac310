import { createLimiter, type Limiter } from '@forgejo-fleet/runtime';
import { UsageMeter } from './budgets.js';
import { createDecisionLog } from './decision-log.js';
import type { ServiceDeps } from './deps.js';
import { ForeignSightings } from './foreign-sightings.js';
import { InFlight } from './in-flight.js';
import { InstanceNotes } from './instance-notes.js';
import { observedStore } from './observed-store.js';
import { NO_OBSERVER, type ServiceObserver } from './observer.js';
import { ProviderCounts } from './provider-counts.js';
import { ProviderHealth } from './provider-health.js';
import type { ProvisionContext } from './provision.js';
import { ReuseDesk } from './reuse/desk.js';
import { WarmPool, type WarmUserData } from './warm/pool.js';
import { hasWarmPool } from './warm/pool-size.js';
import { warmUserDataFromConfig } from './warm/user-data.js';

export type ServiceOptions = Omit<ServiceDeps, 'decisions' | 'observer'> & {
  readonly observer?: ServiceObserver;
  /** Renders a warm VM's user-data (default: the cloud-init package's warm renderer). */
  readonly warmUserData?: WarmUserData;
  /** Schedules `fn` after `ms`, returning a cancel (agent poll holds; tests pass a fake). */
  readonly timer?: (fn: () => void, ms: number) => () => void;
  /** Appends a line to the decision log file; absent: the store keeps the log alone. */
  readonly appendDecisionLine?: (line: string) => void;
};

/** What the service's parts share: the deps, the process-wide guards, the pools, the work in flight. */
export interface ServiceCore {
  readonly deps: ServiceDeps;
  readonly health: ProviderHealth;
  readonly usage: UsageMeter;
  readonly foreign: ForeignSightings;
  readonly notes: InstanceNotes;
  /** The warm pools (absent when no route has one or the agent endpoint is off). */
  readonly warm: WarmPool | undefined;
  /** Servers kept for paid-hour reuse (absent when no route has `reuse.paid_hour`). */
  readonly reuse: ReuseDesk | undefined;
  readonly provisioning: InFlight;
}

/** Wires the deps (observed store, decision log) and the state every part of the service shares. */
export function buildCore(options: ServiceOptions): ServiceCore {
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
  const reuse = deps.config.routes.some((r) => r.reuse.paid_hour)
    ? new ReuseDesk(() => deps.clock.now())
    : undefined;
  const usage = new UsageMeter(deps, reuse ? (since, now) => reuse.idleUsage(since, now) : undefined);
  const base: ProvisionContext = {
    health,
    usage,
    counts: new ProviderCounts({ store, now: () => deps.clock.now() }),
    createSlots: createSlotsFor(deps),
  };
  const warm =
    deps.config.agent !== undefined && deps.config.routes.some(hasWarmPool)
      ? new WarmPool(
          deps,
          reuse ? { ...base, reuse } : base,
          options.warmUserData ?? warmUserDataFromConfig(deps.config),
          options.timer ?? realTimer,
        )
      : undefined;
  const provisioning = new InFlight(
    deps,
    {
      ...base,
      ...(warm ? { warm } : {}),
      ...(reuse ? { reuse } : {}),
    },
    options.timer ?? realTimer,
  );
  return {
    deps,
    health,
    usage,
    foreign: new ForeignSightings(),
    notes: new InstanceNotes(),
    warm,
    reuse,
    provisioning,
  };
}

/** One limiter per provider, sized by its `create_concurrency`, made on first use. */
function createSlotsFor(deps: ServiceDeps): (provider: string) => Limiter {
  const slots = new Map<string, Limiter>();
  return (provider) => {
    let slot = slots.get(provider);
    if (!slot) {
      slot = createLimiter(deps.config.providers[provider]?.create_concurrency ?? 5);
      slots.set(provider, slot);
    }
    return slot;
  };
}

function realTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
