import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import { every, listenError, systemClock } from '@forgejo-fleet/runtime';
import { openPostgresStore, openSqliteStore, type Store } from '@forgejo-fleet/store';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { type DecisionFile, openDecisionFile } from './decision-file.js';
import { forgejoOperation, forgejoResult } from './forgejo-operation.js';
import { fencedStore, guardDeletes } from './ha/fencing.js';
import { createLeaderElection, type LeaderElection } from './ha/leader.js';
import { registerHaMetrics } from './ha/metrics.js';
import { createAgentApp } from './http/agent-app.js';
import { createApp } from './http/app.js';
import { createOpsApp } from './http/ops.js';
import { createLogger } from './logger.js';
import { warnAllowMetadata } from './metadata-warning.js';
import { createDispatcherMetrics } from './metrics.js';
import { randomDispatchId } from './service/names.js';
import { createDispatchService, type DispatchService } from './service/service.js';
import type { WarmUserData } from './service/warm/pool.js';
import { forgejoClients, providerInstances } from './wiring.js';

export interface RunningDispatcher {
  /** http://host:port of the dispatch API. */
  readonly url: string;
  readonly service: DispatchService;
  readonly store: Store;
  /** http://host:port of the warm VMs' agent endpoint, when configured. */
  readonly agentUrl: string | undefined;
  /** http://host:port of the ops listener (`/healthz`, `/readyz`, `/metrics`), when configured. */
  readonly opsUrl: string | undefined;
  /** Prometheus text of `/metrics`. */
  metrics(): Promise<string>;
  /** Stops accepting, waits for in-flight provisioning, stops the reconciler, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly config: DispatcherConfig;
  readonly log?: Logger;
  readonly store?: Store;
  readonly forgejoFor?: (scopeKey: string) => ForgejoClient;
  readonly providerFor?: (name: string, scopeKey: string) => Provider;
  readonly now?: () => number;
  /** Overrides `reconcile.interval` (tests use small values). */
  readonly reconcileIntervalMs?: number;
  /** Write the decision log file (default: yes, at `store.decision_log`). */
  readonly decisionLogFile?: boolean;
  /** Overrides the warm VMs' user-data renderer (benchmarks play the agents in-process). */
  readonly warmUserData?: WarmUserData;
  /** Overrides `ha.lease_ttl` and `ha.renew_every` (tests use sub-second leases). */
  readonly ha?: { readonly leaseTtlMs: number; readonly renewEveryMs: number };
}

/** Wires config into a listening dispatcher; `main.ts` and the end-to-end tests both use it. */
export async function startDispatcher(options: StartOptions): Promise<RunningDispatcher> {
  const { config } = options;
  const log = options.log ?? createLogger(config.log.level);
  // SQLite: the dispatcher owns its store alone (the lock refuses a second dispatcher on the file).
  // PostgreSQL: no lock yet; several dispatchers on one database come with the HA lease (issue 16).
  const store =
    options.store ??
    (config.store.kind === 'postgres'
      ? await openPostgresStore({
          // Present whenever kind is postgres (the schema requires it); '' would fail as "url: not a URL".
          url: config.store.url?.reveal() ?? '',
          poolMax: config.store.pool_max,
          statementTimeoutMs: config.store.statement_timeout,
          tls: { mode: config.store.tls.mode, caFile: config.store.tls.ca_file },
          onIdleError: (error) => log.warn({ err: error.message }, 'store connection lost while idle'),
        })
      : openSqliteStore(config.store.path, { lock: true }));
  const metrics = createDispatcherMetrics(store, {
    config,
    now: options.now ?? (() => systemClock.now()),
    reconcileIntervalMs: options.reconcileIntervalMs ?? config.reconcile.interval,
    // The service is built below with this metrics' observer; nothing scrapes before it exists.
    budgets: () => service.budgetUse(),
    openCircuits: () => service.openCircuits(),
  });
  let decisionFile: DecisionFile | undefined;
  try {
    decisionFile =
      options.decisionLogFile === false
        ? undefined
        : openDecisionFile(config.store.decision_log, {
            maxBytes: config.store.decision_log_max_bytes,
            keep: config.store.decision_log_keep,
          });
  } catch (error) {
    // The store keeps every decision too; the file is for log shipping, so its loss is a warning.
    log.warn(
      { err: (error as Error).message, path: config.store.decision_log },
      'decision log file unavailable',
    );
  }
  const clock = options.now ? { now: options.now, sleep: systemClock.sleep } : systemClock;
  // PostgreSQL: several dispatchers may share the database, so the leader role goes by lease and
  // its writes and deletes are fenced. SQLite: this dispatcher alone (the file lock), always leader.
  const election: LeaderElection | undefined =
    config.store.kind === 'postgres'
      ? createLeaderElection({
          store,
          holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          ttlMs: options.ha?.leaseTtlMs ?? config.ha.lease_ttl,
          renewEveryMs:
            options.ha?.renewEveryMs ?? config.ha.renew_every ?? Math.floor(config.ha.lease_ttl / 3),
          // Real time even when `now` is pinned: the lease runs out in real time on the server.
          clock: systemClock,
          log: log.child({ component: 'ha' }),
          observer: registerHaMetrics(metrics.registry, 'follower'),
          // A new leader starts its first pass at once rather than one interval later (called
          // only once `election.start()` ran, after the reconciler exists).
          onLeader: () => reconciler.now(),
        })
      : undefined;
  if (election === undefined) registerHaMetrics(metrics.registry, 'leader');
  const providerFor = options.providerFor ?? providerInstances(config);
  const service = createDispatchService({
    config,
    store: election ? fencedStore(store, () => election.fence()) : store,
    clock,
    newId: () => randomDispatchId(),
    log,
    observer: metrics.observer,
    forgejoFor:
      options.forgejoFor ??
      forgejoClients(config, (event) =>
        metrics.forgejoCall(forgejoOperation(event), forgejoResult(event.status)),
      ),
    providerFor: election ? guardDeletes(providerFor, election) : providerFor,
    ...(election ? { leadership: election } : {}),
    ...(decisionFile ? { appendDecisionLine: (line: string) => decisionFile.write(line) } : {}),
    ...(options.warmUserData ? { warmUserData: options.warmUserData } : {}),
  });
  const clients = config.clients.map((client) => ({
    name: client.name,
    token: client.token.reveal(),
    scopes: client.scopes,
  }));
  // Periodic, on request (`POST /v1/reconcile`), never two at once, starts at least min_gap apart:
  // however many ask, the providers are listed once per gap. Real time even when `now` is pinned.
  const reconciler = every(
    options.reconcileIntervalMs ?? config.reconcile.interval,
    (signal) => service.reconcile(signal),
    { name: 'reconcile', clock: systemClock, log, minGapMs: config.reconcile.min_gap },
  );
  const opsToken = config.ops?.token?.reveal();
  const ops = {
    service,
    log,
    metrics: () => metrics.registry.metrics(),
    metricsContentType: metrics.registry.contentType,
    ...(opsToken === undefined ? {} : { opsToken }),
  };
  const app = createApp({
    ...ops,
    clients,
    newRequestId: randomUUID,
    requestReconcile: () => reconciler.now(),
    opsElsewhere: config.ops?.listen !== undefined,
    metricsRegistry: metrics.registry,
    uiTrustForwardedProto: config.ui.trust_forwarded_proto,
  });

  election?.start();
  // Each listener in turn; if one cannot open (a taken port), everything started so far is
  // stopped again, so the caller can exit with the reason instead of hanging on open handles.
  const opened: Server[] = [];
  async function stopStarted(): Promise<void> {
    service.stopAccepting();
    await reconciler.stop();
    // Released before the store closes: a follower takes over at once, not one TTL later.
    await election?.stop();
    await Promise.all(opened.map(closeServer));
    await service.drain();
    await store.close();
    decisionFile?.close();
  }
  async function open(fetch: Fetch, at: ListenAt, key: string): Promise<Server> {
    const server = await listen(fetch, at, key);
    opened.push(server);
    return server;
  }
  let server: Server;
  let opsServer: Server | undefined;
  let agentServer: Server | undefined;
  try {
    server = await open(app.fetch, config.listen, 'listen');
    log.info({ url: urlOf(server), fleetId: config.fleet_id }, 'dispatcher listening');
    opsServer =
      config.ops?.listen === undefined
        ? undefined
        : await open(
            createOpsApp({ ...ops, newRequestId: randomUUID }).fetch,
            config.ops.listen,
            'ops.listen',
          );
    if (opsServer) log.info({ url: urlOf(opsServer) }, 'ops endpoint listening');
    if (config.agent?.allow_insecure_http && config.agent.public_url.startsWith('http:')) {
      // Said at every start: the poll answer carries a runner token, readable on the way.
      log.warn(
        { publicUrl: config.agent.public_url },
        'agent.allow_insecure_http: warm VMs fetch their runner tokens over plain http',
      );
    }
    warnAllowMetadata(config, log);
    agentServer =
      config.agent === undefined
        ? undefined
        : await open(
            createAgentApp({
              service,
              log: log.child({ endpoint: 'agent' }),
              now: options.now ?? Date.now,
              maxPollsPerSecond: config.agent.max_polls_per_second,
              maxPollsPerSource: config.agent.max_polls_per_source,
              trustedProxies: config.agent.trusted_proxies,
            }).fetch,
            config.agent.listen,
            'agent.listen',
          );
    if (agentServer) log.info({ url: urlOf(agentServer) }, 'agent endpoint listening');
  } catch (error) {
    await stopStarted();
    throw error;
  }

  return {
    url: urlOf(server),
    agentUrl: agentServer ? urlOf(agentServer) : undefined,
    opsUrl: opsServer ? urlOf(opsServer) : undefined,
    service,
    store,
    metrics: () => metrics.registry.metrics(),
    async close() {
      // Refuse new work first, then let in-flight creates finish and record their state; running
      // VMs are left alone (the next start's reconciler picks them up from the store).
      await stopStarted();
      log.info('dispatcher stopped');
    },
  };
}

type Fetch = (request: Request) => Response | Promise<Response>;
type ListenAt = { host: string; port: number };
type Server = Awaited<ReturnType<typeof listen>>;

async function listen(fetch: Fetch, at: ListenAt, key: string) {
  const server = serve({ fetch, hostname: at.host, port: at.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error) => reject(listenError(error, key, at)));
  });
  return server;
}

function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Held agent polls and keep-alive connections would otherwise delay the stop.
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}
