import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import { openSqliteStore, type Store } from '@forgejo-fleet/store';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { createLogger } from '../logger.js';
import type { ServiceObserver } from '../service/observer.js';
import { createDispatchService, type DispatchService } from '../service/service.js';
import { forgejoClients } from '../wiring.js';
import { memoryProvider } from './memory-provider.js';
import { fakeClock, seedAcme, sequentialIds } from './world-parts.js';

export const MINUTE = 60_000;

export interface Wrappers {
  readonly store?: (store: Store) => Store;
  readonly forgejo?: (client: ForgejoClient) => ForgejoClient;
  readonly provider?: (provider: Provider) => Provider;
}

/**
 * One simulated world for lifecycle tests: a fake Forgejo (org acme), a memory "cloud", a store
 * file that outlives dispatcher processes, and a clock the test moves. `start()` makes a dispatcher
 * process on that world; starting another one on the same file is a restart.
 */
export async function lifecycleWorld(routeExtra = '') {
  const forgejo = await startFakeForgejo();
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: test
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, timeout: 5s }
reconcile: { orphan_grace: 10m }
providers:
  cloud: { kind: shell, command: [/bin/false], cooldown: 1m }
routes:
  - name: small
    labels: [linux]
    providers: [cloud]
    timeouts: { boot: 1m, pickup: 2m, job: 1h, max_lifetime: 2h, pickup_retries: 1 }
${routeExtra}
scopes:
  org:acme: { forgejo_token_env: ACME }
clients:
  - { name: autoscaler, token_env: CLIENT, scopes: ['*'] }
`,
    { file: 'test.yaml', env: { ACME: token, CLIENT: 'client-token-0123456789' } },
  );
  const cloud = memoryProvider('cloud');
  const dir = mkdtempSync(join(tmpdir(), 'fleet-lifecycle-'));
  const path = join(dir, 'dispatcher.db');
  const time = fakeClock();
  const newId = sequentialIds();
  const processes: { service: DispatchService; store: Store }[] = [];

  /**
   * `other` starts a dispatcher on another store file of this world (its own store id and ids)
   * over the same Forgejo and cloud: a second fleet sharing the fleet id.
   */
  function start(
    wrap: Wrappers = {},
    other?: {
      store: string;
      newId: () => string;
      observer?: ServiceObserver;
      /** Store ids this dispatcher adopts (`store.adopt_store_ids`). */
      adopt?: readonly string[];
    },
  ) {
    const raw = openSqliteStore(other ? join(dir, other.store) : path);
    const store = wrap.store ? wrap.store(raw) : raw;
    const clients = forgejoClients(config);
    const service = createDispatchService({
      config: other?.adopt
        ? { ...config, store: { ...config.store, adopt_store_ids: [...other.adopt] } }
        : config,
      store,
      clock: time.clock,
      newId: other?.newId ?? newId,
      log: createLogger('silent'),
      ...(other?.observer ? { observer: other.observer } : {}),
      forgejoFor: (scope) => (wrap.forgejo ? wrap.forgejo(clients(scope)) : clients(scope)),
      providerFor: () => (wrap.provider ? wrap.provider(cloud.provider) : cloud.provider),
    });
    processes.push({ service, store: raw });
    return { service, store: raw };
  }

  return {
    forgejo,
    config,
    cloud,
    start,
    now: time.now,
    advance: time.advance,
    job() {
      return forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    },
    request(job: { handle: string; id: number; attempt: number }) {
      return {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: job.attempt, repo_id: 1, owner_id: 1, name: 'build' },
      };
    },
    /** Live (not deleted) runner registrations in Forgejo. */
    registrations() {
      return forgejo.runners().filter((r) => !r.deleted);
    },
    /** Instances of ours that still exist in the cloud, for one dispatch or all. */
    vms(dispatchId?: string) {
      return [...cloud.instances.values()].filter(
        (i) => dispatchId === undefined || i.tags['forgejo-fleet-dispatch'] === dispatchId,
      );
    },
    async close() {
      for (const p of processes) await p.store.close().catch(() => undefined);
      await forgejo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A promise that never settles: the simulated process died at this await. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}
