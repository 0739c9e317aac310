import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import { openSqliteStore, type Store } from '@forgejo-fleet/store';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp } from './http/app.js';
import { createLogger } from './logger.js';
import { randomDispatchId } from './service/names.js';
import { createDispatchService, type DispatchService } from './service/service.js';
import { forgejoClients, providerInstances } from './wiring.js';

export interface RunningDispatcher {
  /** http://host:port of the dispatch API. */
  readonly url: string;
  readonly service: DispatchService;
  readonly store: Store;
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
}

/** Wires config into a listening dispatcher; `main.ts` and the end-to-end tests both use it. */
export async function startDispatcher(options: StartOptions): Promise<RunningDispatcher> {
  const { config } = options;
  const log = options.log ?? createLogger(config.log.level);
  const store = options.store ?? openSqliteStore(config.store.path);
  const service = createDispatchService({
    config,
    store,
    clock: { now: options.now ?? Date.now },
    newId: () => randomDispatchId(),
    log,
    forgejoFor: options.forgejoFor ?? forgejoClients(config),
    providerFor: options.providerFor ?? providerInstances(config),
  });
  const clients = config.clients.map((client) => ({
    name: client.name,
    token: client.token.reveal(),
    scopes: client.scopes,
  }));
  const app = createApp({ service, clients, log, newRequestId: randomUUID });

  const server = serve({ fetch: app.fetch, hostname: config.listen.host, port: config.listen.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url, fleetId: config.fleet_id }, 'dispatcher listening');

  const reconciler = startLoop(
    options.reconcileIntervalMs ?? config.reconcile.interval,
    (signal) => service.reconcile(signal),
    log,
  );

  return {
    url,
    service,
    store,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.drain();
      await reconciler.stop();
      await store.close();
    },
  };
}

/** Runs `tick` every `intervalMs`, never two at once; `stop` waits for the running tick. */
function startLoop(intervalMs: number, tick: (signal: AbortSignal) => Promise<void>, log: Logger) {
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = tick(controller.signal)
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'reconcile tick failed'))
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      controller.abort();
      await running;
    },
  };
}
