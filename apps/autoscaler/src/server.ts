import { setMaxListeners } from 'node:events';
import type { AutoscalerConfig } from '@forgejo-fleet/config';
import { createForgejoClient, type ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { createDispatcherClient } from './dispatch/client.js';
import { createReconcileNotifier } from './dispatch/reconcile-notifier.js';
import { createRouteCache } from './dispatch/route-cache.js';
import type { AutoscalerEvent } from './events.js';
import { every } from './every.js';
import { type Listener, listen } from './listen.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createOpsApp } from './ops/app.js';
import { classifyError } from './poll/classify-error.js';
import { createIntake } from './poll/intake.js';
import { createPoller, type Poller } from './poll/poller.js';
import { resolveIdentity } from './scopes/identity.js';
import { scopesForRepo } from './scopes/owning-scope.js';
import type { ScopeState } from './scopes/scope-state.js';
import { createHookManager, type HookManager } from './webhook/manager.js';
import { createReceiverApp, type WebhookSignal } from './webhook/receiver.js';

/** How often managed hooks are checked and repaired (also once at start). */
export const HOOK_CHECK_INTERVAL_MS = 10 * 60_000;
/** Routes are retried this often while they could never be read. */
export const ROUTES_RETRY_MS = 5_000;

/** One configured scope with its token read. */
export type ScopeEntry = AutoscalerConfig['scopes'][number];

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

/** Wires config into a running autoscaler; `main.ts` and the end-to-end tests both use it. */
export async function startAutoscaler(options: AutoscalerOptions): Promise<RunningAutoscaler> {
  const { config } = options;
  const log = options.log ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const onEvent = options.onEvent ?? (() => undefined);
  const metrics = createMetrics();
  const shutdown = new AbortController();
  const signal = shutdown.signal;
  // Every dispatch in flight (a burst: hundreds) waits on this signal; listeners leave when they end.
  setMaxListeners(0, signal);

  const forgejoFor =
    options.forgejoFor ??
    ((entry: ScopeEntry) =>
      createForgejoClient({
        apiUrl: config.forgejo.api_url,
        token: entry.token.reveal(),
        timeoutMs: config.forgejo.timeout,
        // The poller backs off by itself; one quick retry covers a blip.
        retry: { attempts: 2 },
        sleep: (ms, s) => clock.sleep(ms, s),
        random,
        userAgent: 'forgejo-fleet-autoscaler',
      }));
  const scopes: ScopeState[] = config.scopes.map((entry) => ({
    key: entry.key,
    scope: entry.scope,
    client: forgejoFor(entry),
    manageHook: entry.webhook.manage,
    identity: undefined,
    health: { status: 'starting' },
  }));

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
    onEvent,
    signal,
  });
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
        onJobs: (seenIn, waiting) => intake.offer(seenIn, waiting),
      }),
    ]),
  );
  const reconcile = createReconcileNotifier({
    dispatcher,
    clock,
    log,
    quietMs: config.dispatcher.routes_refresh,
    signal,
  });

  // Before the first poll: routes (one attempt) and every scope's ids, so the first dispatches
  // already go to the most specific scope. Failures here are retried by the loops.
  await Promise.all([
    routes.refresh(signal, 1),
    ...scopes.map(async (state) => {
      try {
        state.identity = await resolveIdentity(state.client, state.scope, signal);
      } catch (error) {
        const { kind, message } = classifyError(error);
        log.warn({ scope: state.key, kind, err: message }, 'cannot resolve scope; its poller retries');
      }
    }),
  ]);

  function onSignal(delivery: WebhookSignal): boolean {
    const candidates = scopesForRepo(scopes, delivery.repo.owner, delivery.repo.name);
    const target = candidates.find((s) => s.health.status === 'ok') ?? candidates[0];
    if (!target) return false;
    pollers.get(target.key)?.pollNow({ fast: delivery.kind === 'push_like' });
    if (delivery.kind === 'run_finished') {
      reconcile.request(`${delivery.event} in ${delivery.repo.owner}/${delivery.repo.name}`);
    }
    return true;
  }

  const listeners: Listener[] = [];
  let webhookUrl: string | undefined;
  let opsUrl: string | undefined;
  let hooks: HookManager | undefined;
  const loops: Promise<void>[] = [];
  try {
    const webhook = config.webhook;
    if (webhook) {
      const receiver = createReceiverApp({
        secret: webhook.secret.reveal(),
        maxBody: webhook.max_body,
        path: new URL(webhook.public_url).pathname,
        clock,
        metrics,
        log: log.child({ component: 'webhook' }),
        onSignal,
      });
      // Without a metrics listener, health checks live here; metrics stay off the public listener.
      if (!config.metrics) {
        receiver.route('/', createOpsApp({ scopes, routesLoaded: () => routes.loaded }));
      }
      const listener = await listen(receiver.fetch, webhook.listen);
      listeners.push(listener);
      webhookUrl = listener.url;
      hooks = createHookManager({
        scopes,
        publicUrl: webhook.public_url,
        secret: webhook.secret.reveal(),
        metrics,
        log: log.child({ component: 'hooks' }),
      });
    }
    if (config.metrics) {
      const ops = createOpsApp({ scopes, registry: metrics.registry, routesLoaded: () => routes.loaded });
      const listener = await listen(ops.fetch, config.metrics.listen);
      listeners.push(listener);
      opsUrl = listener.url;
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    throw error;
  }

  const manager = hooks;
  if (manager) {
    const interval = options.hookCheckIntervalMs ?? HOOK_CHECK_INTERVAL_MS;
    loops.push(every('webhooks', interval, (s) => manager.ensureAll(s), { clock, log, signal }).stopped);
  }
  loops.push(
    every(
      'routes',
      config.dispatcher.routes_refresh,
      async (s) => {
        await routes.refresh(s);
        // Until routes were read once, ask again sooner than the refresh interval.
        while (!routes.loaded && !s.aborted) {
          await clock.sleep(ROUTES_RETRY_MS, s);
          await routes.refresh(s, 1);
        }
      },
      // Read once just above, before the first poll.
      { clock, log, signal, delayFirst: routes.loaded },
    ).stopped,
  );
  for (const poller of pollers.values()) poller.start();
  log.info(
    { scopes: scopes.map((s) => s.key), webhookUrl, opsUrl, dispatcher: config.dispatcher.url },
    'autoscaler started',
  );

  let closing: Promise<void> | undefined;
  return {
    webhookUrl,
    opsUrl,
    metrics,
    scopes,
    pollNow(scopeKey, opts = {}) {
      const poller = pollers.get(scopeKey);
      if (!poller) throw new Error(`no configured scope ${scopeKey}`);
      poller.pollNow(opts);
    },
    async ensureHooks() {
      return manager ? manager.ensureAll(signal) : {};
    },
    settle: () => intake.drain(),
    close() {
      closing ??= (async () => {
        log.info('shutting down: stopping pollers, finishing requests in flight');
        // Stop listening first (no new webhook triggers), then polling, then wait for requests.
        await Promise.all(listeners.map((l) => l.close()));
        shutdown.abort();
        await Promise.all([...pollers.values()].map((p) => p.stop()));
        await Promise.all(loops);
        await intake.drain();
        await reconcile.idle();
      })();
      return closing;
    },
  };
}
