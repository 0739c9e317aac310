import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { UsageMeter } from '../budgets.js';
import type { ServiceDeps } from '../deps.js';
import type { ForeignSightings } from '../foreign-sightings.js';
import type { InstanceNotes } from '../instance-notes.js';
import type { ReuseDesk } from '../reuse/desk.js';
import type { WarmPool } from '../warm/pool.js';

/** Every interval and grace of the reconciler, in one place. */
export const RECONCILE = {
  /** A dispatch stuck before `booting` that nobody in this process works on is resumed after this. */
  resumeAfterMs: 30_000,
  /** Pickup retries wait this long, doubled per retry, before the fresh VM is made. */
  retryBackoffMs: 15_000,
  /** Runner registrations are listed at most this often (one call per scope). */
  registrationSweepMs: 60_000,
  /** A failed dispatch whose job still waits is revived after this, doubling per revival… */
  reviveAfterMs: 30_000,
  /** …up to this. */
  maxReviveAfterMs: 600_000,
  /** Failed dispatches older than this are left alone (their job has long gone or been rerun). */
  reviveWindowMs: 86_400_000,
  /** Another store's VM or registration is logged once per this window (the gauge is live). */
  foreignReportMs: 3_600_000,
  /** Retention runs at most this often… */
  pruneEveryMs: 300_000,
  /** …deleting at most this many rows of each kind per statement… */
  pruneBatch: 500,
  /** …and at most this many statements per pass, so a pass never holds the store for long. */
  pruneBatchesPerPass: 10,
} as const;

/** What one pass saw, gathered with one list call per provider and one per scope. */
export interface World {
  readonly now: number;
  readonly live: readonly DispatchRecord[];
  /**
   * Instances with our fleet tag and our store id (or none: made before store ids), per provider
   * object; a provider whose list failed is absent.
   */
  readonly instances: ReadonlyMap<Provider, ReadonlyMap<string, Instance>>;
  /** Instances with our fleet tag but another store's id: never touched, only reported. */
  readonly foreign: ReadonlyMap<Provider, readonly Instance[]>;
  /** Jobs in each scope's queue (waiting or running) by handle; a scope whose list failed is absent. */
  readonly queues: ReadonlyMap<string, ReadonlyMap<string, 'waiting' | 'running'>>;
  /** Recently failed dispatches with a job handle: revived while their job still waits. */
  readonly failed: readonly DispatchRecord[];
  /** Dispatches a step of this pass already acted on: later steps leave them alone. */
  readonly touched: Set<string>;
}

/** The live dispatches no earlier step of this pass has acted on. */
export function* untouched(world: World): Generator<DispatchRecord> {
  for (const record of world.live) if (!world.touched.has(record.id)) yield record;
}

/** State the reconciler keeps between passes, and its hooks into the service. */
export interface ReconcileContext {
  /** Dispatches this process is provisioning right now: never resumed or adopted under its feet. */
  readonly inFlight: ReadonlySet<string>;
  /** Starts provisioning (accepted or registering) in the background. */
  readonly startProvision: (record: DispatchRecord) => void;
  /** When an unowned instance or registration was first seen, for the orphan grace. */
  readonly firstSeen: Map<string, number>;
  /** Orphan VMs already asked to delete, and when. */
  readonly deleted: Map<string, number>;
  lastRegistrationSweep: number;
  /** When retention last ran (absent: never in this process). */
  lastPrune?: number;
  /** Another store's VMs and registrations seen lately (log once per window; `why`; the gauge). */
  readonly foreign?: ForeignSightings;
  /** What the providers said of VMs that have not started, for `why`. */
  readonly notes?: InstanceNotes;
  /** The warm pools, when any route has one. */
  readonly warm?: WarmPool;
  /** Today's budgets (revived dispatches respect them like new ones). */
  readonly usage?: UsageMeter;
  /** Servers kept for paid-hour reuse (routes with `reuse.paid_hour`). */
  readonly reuse?: ReuseDesk;
}

export type Step = (
  deps: ServiceDeps,
  ctx: ReconcileContext,
  world: World,
  signal?: AbortSignal,
) => Promise<void>;

/** The provider object that owns a record's VM (scope overrides may give a scope its own). */
export function providerOf(
  deps: ServiceDeps,
  record: Pick<DispatchRecord, 'provider' | 'scope'>,
): Provider | undefined {
  if (record.provider === null) return undefined;
  try {
    return deps.providerFor(record.provider, record.scope);
  } catch {
    return undefined; // provider removed from the config: its VMs are found by the orphan sweep
  }
}

/** When the dispatch last entered `state` (epoch ms), or undefined. */
export function enteredAt(record: DispatchRecord, state: DispatchRecord['state']): number | undefined {
  for (let i = record.transitions.length - 1; i >= 0; i--) {
    const transition = record.transitions[i];
    if (transition?.state === state) return transition.at;
  }
  return undefined;
}

/** When the dispatch first entered `state`. */
export function firstEnteredAt(record: DispatchRecord, state: DispatchRecord['state']): number | undefined {
  return record.transitions.find((t) => t.state === state)?.at;
}

export function isGone(instance: Instance | undefined): boolean {
  return instance === undefined || instance.state === 'stopped' || instance.state === 'terminated';
}
