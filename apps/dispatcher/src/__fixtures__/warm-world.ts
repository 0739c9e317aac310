import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { openSqliteStore } from '@forgejo-fleet/store';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { createAgentApp } from '../http/agent-app.js';
import { createLogger } from '../logger.js';
import { createDispatchService } from '../service/service.js';
import { forgejoClients } from '../wiring.js';
import { memoryProvider } from './memory-provider.js';
import { fakeClock, seedAcme, sequentialIds } from './world-parts.js';

/**
 * A dispatcher with a warm pool on route `small`, a memory cloud, the agent endpoint as an
 * in-process app, and a clock and hold timers the test moves. A warm VM's user-data here is just
 * `vm=<id> secret=<secret>`, so a test plays its agent by reading them back from the cloud.
 */
export async function warmWorld(minIdle = 3, warmExtra = 'max_idle_age: 30m') {
  const forgejo = await startFakeForgejo();
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: test
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, timeout: 5s }
agent: { public_url: https://fleet.example.com:8443, hold: 20s }
providers:
  cloud: { kind: shell, command: [/bin/false], create_concurrency: 50, max_instances: 50 }
routes:
  - name: small
    labels: [linux]
    providers: [cloud]
    limits: { max_vms: 30 }
    timeouts: { boot: 2m, pickup: 2m, job: 1h, max_lifetime: 2h }
    warm: { min_idle: ${minIdle}, ${warmExtra} }
scopes:
  org:acme: { forgejo_token_env: ACME }
clients:
  - { name: autoscaler, token_env: CLIENT, scopes: ['*'] }
`,
    { file: 'test.yaml', env: { ACME: token, CLIENT: 'client-token-0123456789' } },
  );
  const cloud = memoryProvider('cloud');
  const store = openSqliteStore(':memory:');
  const time = fakeClock();
  const timers = new Set<() => void>();
  const log = createLogger('silent');
  const service = createDispatchService({
    config,
    store,
    clock: time.clock,
    newId: sequentialIds(),
    log,
    forgejoFor: forgejoClients(config),
    providerFor: () => cloud.provider,
    warmUserData: ({ vmId, secret }) => `vm=${vmId} secret=${secret}`,
    timer(fn) {
      timers.add(fn);
      return () => timers.delete(fn);
    },
  });
  const agent = createAgentApp({ service, log, now: time.now, maxPollsPerSecond: 1000 });

  function credentialsOf(instanceId: string) {
    const userData = cloud.instances.get(instanceId)?.userData ?? '';
    const match = /^vm=(\S+) secret=(\S+)$/.exec(userData);
    if (!match) throw new Error(`${instanceId} is not a warm VM`);
    return { vmId: match[1] ?? '', secret: match[2] ?? '' };
  }

  return {
    config,
    store,
    service,
    forgejo,
    cloud,
    agent,
    now: time.now,
    advance: time.advance,
    /** Ends every held poll ("nothing yet"). */
    expireHolds() {
      for (const fn of [...timers]) {
        timers.delete(fn);
        fn();
      }
    },
    credentialsOf,
    /** Instances of the pool (tagged with a warm id). */
    warmInstances() {
      return [...cloud.instances.values()].filter((i) => i.tags['forgejo-fleet-warm'] !== undefined);
    },
    poll(vmId: string, secret: string, body?: string) {
      return agent.request('/v1/agent/poll', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: body ?? JSON.stringify({ vm_id: vmId }),
      });
    },
    job() {
      return forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    },
    request(job: { handle: string; id: number }) {
      return {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      };
    },
    async close() {
      await service.drain();
      await store.close();
      await forgejo.close();
    },
  };
}

export type WarmWorld = Awaited<ReturnType<typeof warmWorld>>;

/**
 * A new warm world for each test of the file, handed to `use` before the test. After it, spies
 * are restored before the close, so the close's drain runs on the real provider and store.
 */
export function warmWorldPerTest(minIdle: number, use: (world: WarmWorld) => void): void {
  let w: WarmWorld;
  beforeEach(async () => {
    w = await warmWorld(minIdle);
    use(w);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    w.expireHolds();
    await w.close();
  });
}

/**
 * The pool's first VM, created, its agent checked in (idle) and that poll answered "nothing yet",
 * so no poll is held: its credentials and instance id.
 */
export async function idleWarmVm(w: WarmWorld) {
  await w.service.refillWarm();
  await w.service.drain();
  const instance = w.warmInstances()[0];
  const credentials = w.credentialsOf(instance?.id ?? '');
  const checkIn = w.service.agentPoll(credentials.vmId, credentials.secret);
  for (let i = 0; i < 50 && (await w.store.getWarm(credentials.vmId))?.state !== 'idle'; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  w.expireHolds();
  expect(await checkIn).toEqual({ status: 204 });
  return { ...credentials, instanceId: instance?.id ?? '' };
}
