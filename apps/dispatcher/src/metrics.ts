import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { Store } from '@forgejo-fleet/store';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { countOverdue } from './overdue.js';
import type { ServiceObserver } from './service/observer.js';

const PHASE_BUCKETS = [0.05, 0.25, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
const CALL_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Phase names as operators read them: the state a dispatch left and the one it reached. */
const PHASES: Record<string, string> = {
  'accepted>registering': 'accepted',
  'registering>provisioning': 'registered',
  'provisioning>booting': 'created',
  'booting>running': 'running',
  'running>finished': 'finished',
  'booting>finished': 'finished',
};

/** Live state the fleet gauges read at scrape time (absent in tests that only count events). */
export interface MetricSources {
  readonly config: Pick<DispatcherConfig, 'routes' | 'providers'>;
  readonly now: () => number;
  /** Today's use of every configured budget. */
  budgets(): Promise<readonly { cap: string; used: number; limit: number }[]>;
  /** Providers whose circuit is open now. */
  openCircuits(): readonly string[];
  /** The reconciler's period (the configured interval unless a test overrides it). */
  readonly reconcileIntervalMs: number;
}

export interface DispatcherMetrics {
  readonly registry: Registry;
  readonly observer: ServiceObserver;
  /** Counts Forgejo API calls (wired to the Forgejo client's `onRequest`). */
  forgejoCall(operation: string, result: string): void;
}

/**
 * prom-client metrics on a registry of our own (never the global one, so two dispatchers in one
 * test process do not clash). Labels are routes, providers, states and outcomes: never an id or a
 * handle, so cardinality stays bounded by the config.
 */
export function createDispatcherMetrics(
  store: Pick<Store, 'countLive' | 'listWarm' | 'listLive'>,
  sources?: MetricSources,
): DispatcherMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'forgejo_fleet_dispatcher_' });
  const dispatches = new Counter({
    name: 'forgejo_fleet_dispatches_total',
    help: 'Dispatches that reached an outcome, by route, provider and outcome.',
    labelNames: ['route', 'provider', 'outcome'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'forgejo_fleet_dispatch_refusals_total',
    help: 'Dispatch requests refused by a limit, budget or provider outage, by route and reason.',
    labelNames: ['route', 'reason'] as const,
    registers: [registry],
  });
  const phases = new Histogram({
    name: 'forgejo_fleet_dispatch_phase_seconds',
    help: 'Time a dispatch spent reaching each phase (accepted → registered → created → running → finished).',
    labelNames: ['phase', 'route', 'provider'] as const,
    buckets: PHASE_BUCKETS,
    registers: [registry],
  });
  const providerCalls = new Histogram({
    name: 'forgejo_fleet_provider_call_seconds',
    help: 'Provider API calls by provider, operation and result (ok or error class).',
    labelNames: ['provider', 'operation', 'result'] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const forgejoCalls = new Counter({
    name: 'forgejo_fleet_forgejo_calls_total',
    help: 'Forgejo API calls by operation and result.',
    labelNames: ['operation', 'result'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'forgejo_fleet_errors_total',
    help: 'Errors by class (capacity, quota, rate-limited, transient, fatal, forgejo, reconcile, internal).',
    labelNames: ['class'] as const,
    registers: [registry],
  });
  const reconcile = new Histogram({
    name: 'forgejo_fleet_reconcile_seconds',
    help: 'Duration of one reconcile pass.',
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const foreignVms = new Gauge({
    name: 'forgejo_fleet_foreign_vms',
    help: 'VMs with our fleet id made by another store (a second dispatcher sharing fleet_id), by provider; never deleted by this one.',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const lastPass = new Gauge({
    name: 'forgejo_fleet_reconcile_last_pass_timestamp_seconds',
    help: 'When the last reconcile pass ended (Unix seconds); compare with time() to see a stalled reconciler.',
    registers: [registry],
  });
  new Gauge({
    name: 'forgejo_fleet_reconcile_interval_seconds',
    help: 'The reconciler period, so alerts can compare pass durations and ages with it.',
    registers: [registry],
    collect() {
      if (sources) this.set(sources.reconcileIntervalMs / 1000);
    },
  });
  new Gauge({
    name: 'forgejo_fleet_dispatches_overdue',
    help: 'Live dispatches past the timer the reconciler enforces for their state (plus two passes), by route and state; should be 0.',
    labelNames: ['route', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!sources) return;
      const grace = 2 * sources.reconcileIntervalMs;
      const overdue = countOverdue(await store.listLive(), sources.config.routes, sources.now(), grace);
      for (const { route, state, n } of overdue.values()) this.set({ route, state }, n);
    },
  });
  new Gauge({
    name: 'forgejo_fleet_budget_used_ratio',
    help: "Today's use of each configured daily budget as a fraction of its cap (UTC day), by cap path.",
    labelNames: ['cap'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!sources) return;
      for (const { cap, used, limit } of await sources.budgets()) this.set({ cap }, used / limit);
    },
  });
  new Gauge({
    name: 'forgejo_fleet_provider_circuit_open',
    help: 'Providers whose circuit is open (repeated fatal or transient failures): 1 while open.',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect() {
      this.reset();
      if (!sources) return;
      // Every configured provider gets a series (0 when closed), so a graph has a line per provider.
      const open = new Set(sources.openCircuits());
      for (const provider of Object.keys(sources.config.providers))
        this.set({ provider }, open.has(provider) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'forgejo_fleet_live_vms',
    help: 'Dispatches that may own a VM or registration right now, by route.',
    labelNames: ['route'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const live = await store.countLive();
      for (const [route, n] of live.byRoute) this.set({ route }, n);
    },
  });

  new Gauge({
    name: 'forgejo_fleet_warm_vms',
    help: 'Warm pool VMs by route and state (creating, booting, idle, claimed, assigned).',
    labelNames: ['route', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = new Map<string, { route: string; state: string; n: number }>();
      for (const vm of await store.listWarm()) {
        const key = `${vm.route}\u0000${vm.state}`;
        const entry = counts.get(key) ?? { route: vm.route, state: vm.state, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      for (const { route, state, n } of counts.values()) this.set({ route, state }, n);
    },
  });

  return {
    registry,
    observer: {
      transition(record, from, ms) {
        const provider = record.provider ?? 'none';
        const phase = PHASES[`${from}>${record.state}`];
        if (phase) phases.observe({ phase, route: record.route, provider }, ms / 1000);
        if (record.state === 'finished' || record.state === 'failed' || record.state === 'cancelled') {
          dispatches.inc({ route: record.route, provider, outcome: record.state });
        }
      },
      providerCall(provider, operation, result, ms) {
        providerCalls.observe({ provider, operation, result }, ms / 1000);
      },
      refused(route, reason) {
        refusals.inc({ route, reason });
      },
      error(errorClass) {
        errors.inc({ class: errorClass });
      },
      reconciled(ms) {
        reconcile.observe(ms / 1000);
        lastPass.set((sources?.now() ?? Date.now()) / 1000);
      },
      foreignVms(provider, count) {
        foreignVms.set({ provider }, count);
      },
    },
    forgejoCall(operation, result) {
      forgejoCalls.inc({ operation, result });
    },
  };
}
