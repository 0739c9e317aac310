import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import { createProvider, type Provider } from '@forgejo-fleet/providers';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { openSqliteStore, type Store } from '@forgejo-fleet/store';
import { startFakeForgejo, startFakeHetzner } from '@forgejo-fleet/testkit';
import { seedAcme, sequentialIds } from '../../../__fixtures__/world-parts.js';
import { createLogger } from '../../../logger.js';
import { forgejoClients } from '../../../wiring.js';
import { createDispatchService, type DispatchService } from '../../service.js';
import { warmUserDataFromConfig } from '../../warm/user-data.js';

export interface Wrappers {
  readonly store?: (store: Store) => Store;
  readonly forgejo?: (client: ForgejoClient) => ForgejoClient;
  readonly provider?: (provider: Provider) => Provider;
}

/** Route `small` gets a warm pool of one VM (and the agent endpoint is on). */
export interface WarmOption {
  /** Route `small`'s `reuse.same_scope_only`. */
  readonly sameScopeOnly: boolean;
}

/**
 * A fake Forgejo (orgs acme and beta), a fake Hetzner Cloud on a virtual clock, and a store file
 * that outlives dispatcher processes: `start()` is a dispatcher process, a second one a restart.
 * Routes `small` (linux) and `other` (arm) both reuse paid hours on the one Hetzner provider.
 */
export async function reuseWorld(options: { warm?: WarmOption } = {}) {
  const clock = virtualClock(Date.parse('2026-11-23T10:00:00Z'));
  const forgejo = await startFakeForgejo();
  const hetzner = await startFakeHetzner({ now: clock.now, rateLimit: false });
  const { token } = seedAcme(forgejo);
  forgejo.addOrg({ name: 'beta', owners: ['ops'] });
  forgejo.addRepo({ owner: 'beta', name: 'web' });
  const config = parseDispatcherConfig(
    `
fleet_id: hz
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, token_env: FT, timeout: 5s }
reconcile: { orphan_grace: 10m }
${options.warm ? 'agent: { public_url: https://fleet.example.com:8443, hold: 20s }' : ''}
providers:
  hetzner:
    kind: hetzner
    endpoint: ${hetzner.url}
    token_env: HT
    server_types: [cpx22]
    locations: [fsn1]
    image: ubuntu-24.04
routes:
  - name: small
    labels: [linux]
    providers: [hetzner]
    timeouts: { boot: 5m, pickup: 10m, job: 1h, max_lifetime: 3h, pickup_retries: 1 }
    reuse: { paid_hour: true, min_left: 10m${options.warm ? `, same_scope_only: ${options.warm.sameScopeOnly}` : ''} }
    ${options.warm ? 'warm: { min_idle: 1 }' : ''}
  - name: other
    labels: [arm]
    providers: [hetzner]
    reuse: { paid_hour: true }
scopes:
  org:acme: {}
  org:beta: {}
clients:
  - { name: autoscaler, token_env: CT, scopes: ['*'] }
`,
    { file: 'hz.yaml', env: { FT: token, HT: hetzner.token, CT: 'client-token-0123456789' } },
  );
  const hz = config.providers.hetzner;
  if (hz === undefined) throw new Error('no provider');
  const provider = createProvider('hetzner', hz, undefined, { clock });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-reuse-'));
  const path = join(dir, 'dispatcher.db');
  const newId = sequentialIds();
  const stores: Store[] = [];
  /** Agent secrets by warm VM id, as the warm renderer put them in the user-data. */
  const agentSecrets = new Map<string, string>();
  const renderWarm = warmUserDataFromConfig(config);
  const holds = new Set<() => void>();
  const holdTimer = (fn: () => void) => {
    holds.add(fn);
    return () => holds.delete(fn);
  };

  function start(wrap: Wrappers = {}) {
    const raw = openSqliteStore(path);
    stores.push(raw);
    const clients = forgejoClients(config);
    // One object per process, as the wiring gives: the reconciler keys its lists by provider object.
    const wrapped = wrap.provider ? wrap.provider(provider) : provider;
    const service = createDispatchService({
      config,
      store: wrap.store ? wrap.store(raw) : raw,
      clock,
      newId,
      log: createLogger('silent'),
      forgejoFor: (scope) => (wrap.forgejo ? wrap.forgejo(clients(scope)) : clients(scope)),
      providerFor: () => wrapped,
      warmUserData: (params) => {
        agentSecrets.set(params.vmId, params.secret);
        return renderWarm(params);
      },
      // Held agent polls end when the test says so.
      ...(options.warm ? { timer: holdTimer } : {}),
    });
    return { service, store: raw };
  }

  return {
    clock,
    forgejo,
    hetzner,
    config,
    provider,
    start,
    agentSecrets,
    /** Ends every held agent poll ("nothing yet"). */
    expireHolds() {
      for (const fn of [...holds]) {
        holds.delete(fn);
        fn();
      }
    },
    job(options: { org?: string; runsOn?: string[] } = {}) {
      return forgejo.enqueueJob({
        repo: `${options.org ?? 'acme'}/web`,
        name: 'build',
        runsOn: options.runsOn ?? ['linux'],
      });
    },
    request(
      job: { handle: string; id: number; attempt: number },
      options: { org?: string; labels?: string[] } = {},
    ) {
      return {
        scope: `org:${options.org ?? 'acme'}`,
        labels: options.labels ?? ['linux'],
        job: { handle: job.handle, id: job.id, attempt: job.attempt, repo_id: 1, owner_id: 1, name: 'build' },
      };
    },
    /** Servers that still exist (not being deleted). */
    servers() {
      return hetzner.servers().filter((s) => s.status !== 'deleting');
    },
    registrations() {
      return forgejo.runners().filter((r) => !r.deleted);
    },
    /**
     * The job ran: it leaves the queue and the machine powers itself off, `after` ms after it
     * booted (one-job exits, then poweroff). Forgejo's own delete of the ephemeral runner is left
     * out on purpose: the dispatcher must delete the registration itself.
     */
    jobDone(handle: string, serverId: number) {
      forgejo.cancelJob(handle);
      hetzner.setStatus(serverId, 'off');
    },
    async close() {
      for (const store of stores) await store.close().catch(() => undefined);
      await hetzner.close();
      await forgejo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function pass(service: DispatchService): Promise<void> {
  await service.reconcile();
  await service.drain();
}
