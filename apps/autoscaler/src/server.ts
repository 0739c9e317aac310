import { setMaxListeners } from 'node:events';
import type { AutoscalerConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import { type Clock, type Loop, systemClock } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import { createDispatcherClient } from './dispatch/client.js';
import { createReconcileNotifier } from './dispatch/reconcile-notifier.js';
import { createRouteCache } from './dispatch/route-cache.js';
import type { AutoscalerEvent } from './events.js';
import type { Listener } from './listen.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createIntake } from './poll/intake.js';
import { createPoller, type Poller } from './poll/poller.js';
import type { ScopeState } from './scopes/scope-state.js';
import { openListeners } from './start/listeners.js';
import { HOOK_CHECK_INTERVAL_MS, startBackgroundLoops } from './start/loops.js';
import { buildScopes, defaultForgejoFor, resolveScopes, type ScopeEntry } from './start/scopes.js';
import { signalRouter } from './start/signals.js';
import type { HookManager } from './webhook/manager.js';

export { HOOK_CHECK_INTERVAL_MS, ROUTES_RETRY_MS } from './start/loops.js';
export type { ScopeEntry } from './start/scopes.js';

export interface AutoscalerOptions {
  readonly config: AutoscalerConfig;
  readonly log?: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** The Forgejo client of one scope; by default one with the scope's own token. */
  readonly forgejoFor?: (entry: ScopeEntry) => ForgejoClient;
  /** HTTP to the dispatcher. */
  readonly fetch?: typeof fetch;
  readonly onEvent?: (event: AutoscalerEvent) => void;
  readonly dispatchConcurrency?: number;
  readonly hookCheckIntervalMs?: number;
}

export interface RunningAutoscaler {
  /** Where the webhook listener listens (not the public URL), if configured. */
  readonly webhookUrl: string | undefined;
  /** Where `/metrics`, `/healthz` and `/readyz` are served, if `metrics.listen` is configured. */
  readonly opsUrl: string | undefined;
  readonly metrics: Metrics;
  readonly scopes: readonly ScopeState[];
  pollNow(scopeKey: string, opts?: { fast?: boolean }): void;
  /** One webhook management pass now (it also runs at start and periodically). */
  ensureHooks(): Promise<Record<string, 'ok' | 'failed'>>;
  /** Waits until no dispatch request is in flight. */
  settle(): Promise<void>;
  /** Stops polling and listening, waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * Wires config into a running autoscaler; `main.ts` and the end-to-end tests both use it. The
 * parts: scopes and their pollers, the dispatcher side (client, routes, intake, reconcile asks),
 * the listeners (start/listeners.ts), the background loops (start/loops.ts), and shutdown.
 */
export async function startAutoscaler(options: AutoscalerOptions): Promise<RunningAutoscaler> {
  const { config } = options;
  const log = options.log ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const metrics = createMetrics();
  const shutdown = new AbortController();
  const signal = shutdown.signal;
  // Every dispatch in flight (a burst: hundreds) waits on this signal; listeners leave when they end.
  setMaxListeners(0, signal);

  const scopes = buildScopes(config, options.forgejoFor ?? defaultForgejoFor(config, clock, random));
  const dispatcher = dispatcherSide({ options, clock, random, metrics, log, scopes, signal });
  const pollers = new Map<string, Poller>(
    scopes.map((state) => [
      state.key,
      createPoller({
        state,
        clock,
        random,
        timing: config.poll,
        metrics,
        log,
        onJobs: (seenIn, waiting) => dispatcher.intake.offer(seenIn, waiting),
      }),
    ]),
  );

  // Before the first poll: routes (one attempt) and every scope's ids. Failures are retried by the loops.
  await Promise.all([dispatcher.routes.refresh(signal, 1), resolveScopes(scopes, log, signal)]);

  const { listeners, webhookUrl, opsUrl, hooks } = await openListeners({
    config,
    scopes,
    metrics,
    clock,
    log,
    routesLoaded: () => dispatcher.routes.loaded,
    onSignal: signalRouter({
      scopes,
      pollers,
      requestReconcile: (reason) => dispatcher.reconcile.request(reason),
    }),
  });
  const loops = startBackgroundLoops({
    hooks,
    hookCheckIntervalMs: options.hookCheckIntervalMs ?? HOOK_CHECK_INTERVAL_MS,
    routes: dispatcher.routes,
    routesRefreshMs: config.dispatcher.routes_refresh,
    clock,
    log,
    signal,
  });
  for (const poller of pollers.values()) poller.start();
  log.info(
    { scopes: scopes.map((s) => s.key), webhookUrl, opsUrl, dispatcher: config.dispatcher.url },
    'autoscaler started',
  );

  return runningAutoscaler({
    webhookUrl,
    opsUrl,
    metrics,
    scopes,
    pollers,
    hooks,
    dispatcher,
    listeners,
    loops,
    shutdown,
    log,
  });
}

/**
 * The handle of a started autoscaler. Shutdown order: stop listening (no new webhook triggers),
 * then polling and the loops, then wait for the requests in flight.
 */
function runningAutoscaler(parts: {
  readonly webhookUrl: string | undefined;
  readonly opsUrl: string | undefined;
  readonly metrics: Metrics;
  readonly scopes: readonly ScopeState[];
  readonly pollers: ReadonlyMap<string, Poller>;
  readonly hooks: HookManager | undefined;
  readonly dispatcher: ReturnType<typeof dispatcherSide>;
  readonly listeners: readonly Listener[];
  readonly loops: readonly Loop[];
  readonly shutdown: AbortController;
  readonly log: Logger;
}): RunningAutoscaler {
  const { pollers, hooks, dispatcher, shutdown, log } = parts;
  let closing: Promise<void> | undefined;
  return {
    webhookUrl: parts.webhookUrl,
    opsUrl: parts.opsUrl,
    metrics: parts.metrics,
    scopes: parts.scopes,
    pollNow(scopeKey, opts = {}) {
      const poller = pollers.get(scopeKey);
      if (!poller) throw new Error(`no configured scope ${scopeKey}`);
      poller.pollNow(opts);
    },
    async ensureHooks() {
      return hooks ? hooks.ensureAll(shutdown.signal) : {};
    },
    settle: () => dispatcher.intake.drain(),
    close() {
      closing ??= (async () => {
        log.info('shutting down: stopping pollers, finishing requests in flight');
        await Promise.all(parts.listeners.map((l) => l.close()));
        shutdown.abort();
        await Promise.all([...pollers.values()].map((p) => p.stop()));
        await Promise.all(parts.loops.map((l) => l.stopped));
        await dispatcher.intake.drain();
        await dispatcher.reconcile.idle();
      })();
      return closing;
    },
  };
}

/** The dispatcher client and what talks through it: the route cache, the job intake, reconcile asks. */
function dispatcherSide(deps: {
  readonly options: AutoscalerOptions;
  readonly clock: Clock;
  readonly random: () => number;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly scopes: readonly ScopeState[];
  readonly signal: AbortSignal;
}) {
  const { options, clock, random, metrics, log, scopes, signal } = deps;
  const { config } = options;
  const dispatcher = createDispatcherClient({
    url: config.dispatcher.url,
    token: config.dispatcher.token.reveal(),
    timeoutMs: config.dispatcher.timeout,
    concurrency: options.dispatchConcurrency ?? config.dispatcher.concurrency,
    clock,
    random,
    fetch: options.fetch ?? globalThis.fetch,
    metrics,
  });
  const routes = createRouteCache({ dispatcher, log });
  const intake = createIntake({
    scopes,
    dispatcher,
    routes,
    clock,
    metrics,
    log,
    recheckMs: config.dispatcher.routes_refresh,
    onEvent: options.onEvent ?? (() => undefined),
    signal,
  });
  const reconcile = createReconcileNotifier({
    dispatcher,
    clock,
    log,
    quietMs: config.dispatcher.routes_refresh,
    signal,
  });
  return { routes, intake, reconcile };
}
