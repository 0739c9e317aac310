/**
 * The two services of a chaos run as crashable in-process "processes". A dispatcher process is the
 * real dispatch service and HTTP app on the shared store (config.store: the SQLite file, or one
 * PostgreSQL database for several dispatcher processes); an autoscaler process is the real
 * autoscaler on the virtual clock. Killing one makes every call it has in flight hang forever (see
 * crashable.ts); a restart is a new process on the same store file and webhook port.
 */
import {
  createLogger as autoscalerLogger,
  type RunningAutoscaler,
  startAutoscaler,
} from '@forgejo-fleet/autoscaler';
import type { AutoscalerConfig, DispatcherConfig } from '@forgejo-fleet/config';
import {
  createApp,
  createDispatchService,
  createLogger,
  type DispatchService,
} from '@forgejo-fleet/dispatcher';
import { createForgejoClient, type ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import { openPostgresStore, openSqliteStore, type Store } from '@forgejo-fleet/store';
import type { Hono } from 'hono';
import { type CrashPoint, guardAll, type Life, never } from './crashable.js';
import type { Random } from './random.js';
import type { VirtualClock } from './virtual-clock.js';
import { CLIENT_TOKEN } from './world.js';

export interface DispatcherProcess {
  readonly life: Life;
  readonly service: DispatchService;
  readonly app: Hono;
  readonly store: Store;
  reconciling: Promise<void> | undefined;
}

export interface ProcessDeps {
  readonly time: VirtualClock;
  readonly crash: CrashPoint;
  readonly activity: () => void;
  /** Called before a runner registration leaves the dispatcher: the driver may cancel the job there. */
  readonly beforeRegister: (handle: string | undefined) => void;
}

let ids = 0;

export function startDispatcherProcess(
  deps: ProcessDeps & {
    readonly config: DispatcherConfig;
    readonly providers: ReadonlyMap<string, Provider>;
    readonly onReconcileRequest: () => void;
    readonly generation: number;
    /** The store this process runs on, opened by openProcessStore (required for kind postgres). */
    readonly store?: Store;
  },
): DispatcherProcess {
  const life: Life = { dead: false, name: `dispatcher#${deps.generation}` };
  const { config, crash, time } = deps;
  if (deps.store === undefined && config.store.kind !== 'sqlite') {
    // Never fall back to a SQLite file for a config that names a shared database.
    throw new Error(
      `store.kind ${config.store.kind}: open it with openProcessStore(config) and pass it as store`,
    );
  }
  const store = deps.store ?? openSqliteStore(config.store.path);
  const clients = new Map<string, ForgejoClient>(
    config.scopes.map((entry) => [
      entry.key,
      createForgejoClient({
        apiUrl: config.forgejo.api_url,
        token: entry.forgejo_token.reveal(),
        timeoutMs: config.forgejo.timeout,
        userAgent: 'forgejo-fleet-dispatcher',
        retry: { attempts: 3, baseMs: 20, maxMs: 200 },
      }),
    ]),
  );
  const guardedClients = new Map(
    [...clients].map(([key, client]) => [
      key,
      withRegisterHook(guardAll(client, life, crash, 'forgejo'), deps),
    ]),
  );
  const guardedProviders = new Map(
    [...deps.providers].map(([name, provider]) => [name, guardAll(provider, life, crash, 'provider')]),
  );
  const service = createDispatchService({
    config,
    store: guardAll(store, life, crash, 'store'),
    clock: { now: time.now, sleep: (ms, signal) => time.clock.sleep(ms, signal) },
    newId: () => `d${String(++ids).padStart(12, '0')}`,
    log: createLogger('silent'),
    forgejoFor: (scope) => {
      const client = guardedClients.get(scope);
      if (!client) throw new Error(`scope ${scope} is not configured`);
      return client;
    },
    providerFor: (name) => {
      const provider = guardedProviders.get(name);
      if (!provider) throw new Error(`provider ${name} is not configured`);
      return provider;
    },
  });
  const app = createApp({
    service,
    clients: [{ name: 'autoscaler', token: CLIENT_TOKEN, scopes: '*' }],
    log: createLogger('silent'),
    newRequestId: () => 'chaos',
    requestReconcile: deps.onReconcileRequest,
  }) as unknown as Hono;
  return { life, service, app, store, reconciling: undefined };
}

/**
 * Opens the store `config.store` names, as the dispatcher does: several dispatcher processes of
 * one run share one PostgreSQL database (kind postgres), or a restart reopens the SQLite file.
 */
export async function openProcessStore(config: DispatcherConfig): Promise<Store> {
  if (config.store.kind === 'sqlite') return openSqliteStore(config.store.path);
  return openPostgresStore({
    url: config.store.url?.reveal() ?? '',
    poolMax: config.store.pool_max,
    statementTimeoutMs: config.store.statement_timeout,
    tls: { mode: config.store.tls.mode, caFile: config.store.tls.ca_file },
  });
}

/** Lets the driver cancel a job right before its runner is registered (a cancel mid-provisioning). */
function withRegisterHook(client: ForgejoClient, deps: ProcessDeps): ForgejoClient {
  return {
    ...bindAll(client),
    registerRunner(scope, body, opts) {
      const match = /dispatch (d\d+)(?: store \S+)?$/.exec(body.description ?? '');
      deps.beforeRegister(match?.[1]);
      return client.registerRunner(scope, body, opts);
    },
  };
}

function bindAll(client: ForgejoClient): ForgejoClient {
  const out: Record<string, unknown> = {};
  for (const key of [
    'listJobs',
    'registerRunner',
    'getRunner',
    'listRunners',
    'deleteRunner',
    'listHooks',
    'createHook',
    'editHook',
    'deleteHook',
    'getRepo',
    'getOrg',
    'getCurrentUser',
  ] as const) {
    const fn = client[key] as (...args: unknown[]) => unknown;
    out[key] = (...args: unknown[]) => fn(...args);
  }
  return out as unknown as ForgejoClient;
}

export interface AutoscalerProcess {
  readonly life: Life;
  running: RunningAutoscaler | undefined;
  /** Set when the start itself failed (port still held, …): the driver starts another. */
  failed: boolean;
}

export function startAutoscalerProcess(
  deps: ProcessDeps & {
    readonly config: AutoscalerConfig;
    readonly random: Random;
    readonly dispatcher: () => DispatcherProcess | undefined;
    readonly generation: number;
  },
): AutoscalerProcess {
  const life: Life = { dead: false, name: `autoscaler#${deps.generation}` };
  const proc: AutoscalerProcess = { life, running: undefined, failed: false };
  const { config, crash, time } = deps;
  // The dispatcher is reached in-process: a dead or absent one refuses like a closed port.
  const fetchDispatcher: typeof fetch = async (input, init) => {
    if (life.dead) return never();
    const target = deps.dispatcher();
    deps.activity();
    if (target === undefined || target.life.dead) throw new TypeError('fetch failed: connection refused');
    const response = await target.app.fetch(new Request(String(input), init));
    if (life.dead) return never();
    return response;
  };
  void startAutoscaler({
    config,
    log: autoscalerLogger('silent'),
    clock: time.clock,
    random: deps.random.next,
    fetch: fetchDispatcher,
    forgejoFor: (entry) =>
      guardAll(
        createForgejoClient({
          apiUrl: config.forgejo.api_url,
          token: entry.token.reveal(),
          timeoutMs: config.forgejo.timeout,
          retry: { attempts: 2 },
          sleep: (ms, signal) => time.clock.sleep(ms, signal),
          random: deps.random.next,
          userAgent: 'forgejo-fleet-autoscaler',
        }),
        life,
        crash,
        'autoscaler-forgejo',
      ),
  }).then(
    (running) => {
      proc.running = running;
      if (life.dead) void running.close();
    },
    () => {
      proc.failed = true;
    },
  );
  return proc;
}

/** Kills an autoscaler process: its calls hang, and its webhook port is freed for the next one. */
export function killAutoscaler(proc: AutoscalerProcess): void {
  proc.life.dead = true;
  // Not awaited: close() waits for pollers, and a dead process's pollers never come back.
  void proc.running?.close();
}
