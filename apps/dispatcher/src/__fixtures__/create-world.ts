import { parseDispatcherConfig } from '@forgejo-fleet/config';
import {
  type CallOptions,
  type DeadlineTimer,
  type InstanceSpec,
  type MachineChoice,
  type Provider,
  withDeadlines,
} from '@forgejo-fleet/providers';
import { openSqliteStore } from '@forgejo-fleet/store';
import { startFakeForgejo } from '@forgejo-fleet/testkit';
import { createLogger } from '../logger.js';
import { createDispatchService } from '../service/service.js';
import { forgejoClients } from '../wiring.js';
import { memoryProvider } from './memory-provider.js';
import { fakeClock, seedAcme, sequentialIds } from './world-parts.js';

/** The two callers of the creation pipeline: a cold dispatch and a warm pool refill. */
export type Caller = 'cold' | 'warm';

/**
 * What one VM creation ended as, the same words for both callers: made on a choice, left
 * unresolved (a lost answer whose lookup failed), or not made at all (every choice failed or
 * was skipped, or the dispatch was refused up front because every choice is cooling down).
 */
export type Outcome = `made ${string}` | 'unresolved' | 'none';

export interface CreateWorldOptions {
  readonly choices?: readonly MachineChoice[];
  readonly maxInstances?: number;
}

/**
 * One provider `cloud` (a memory cloud behind the real deadline wrapper, create_concurrency 1)
 * on route `small`, and `createOne()` that makes one VM through the given caller: a dispatch
 * (cold) or a pool refill that wants exactly one more idle VM (warm). Deadlines fire through an
 * injected timer, so a hung create ends without waiting.
 */
export async function createWorld(caller: Caller, options: CreateWorldOptions = {}) {
  const forgejo = await startFakeForgejo();
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: cw
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, timeout: 5s }
agent: { public_url: https://fleet.example.com:8443 }
providers:
  cloud: { kind: shell, command: [/bin/false], cooldown: 1m, create_concurrency: 1, max_instances: ${options.maxInstances ?? 10} }
routes:
  - name: small
    labels: [linux]
    providers: [cloud]
    limits: { max_vms: 100 }
    ${caller === 'warm' ? 'warm: { min_idle: 1 }' : ''}
scopes:
  org:acme: { forgejo_token_env: ACME }
clients:
  - { name: autoscaler, token_env: CLIENT, scopes: ['*'] }
`,
    { file: 'create-world.yaml', env: { ACME: token, CLIENT: 'client-token-0123456789' } },
  );
  const cloud = memoryProvider(
    'cloud',
    options.choices ?? [
      { key: 'a', machine: 'a' },
      { key: 'b', machine: 'b' },
    ],
  );
  let hangCreates = 0;
  let failLists = 0;
  const expiries = new Set<() => void>();
  const timer: DeadlineTimer = (_ms, onExpire) => {
    expiries.add(onExpire);
    return () => expiries.delete(onExpire);
  };
  const inner = cloud.provider;
  const provider: Provider = withDeadlines(
    {
      ...inner,
      async create(spec: InstanceSpec, call?: CallOptions) {
        if (hangCreates-- <= 0) return inner.create(spec);
        cloud.calls.push({
          verb: 'create',
          arg: spec.name,
          ...(spec.choice ? { choice: spec.choice.key } : {}),
        });
        // Hangs like a cloud that never answers, until its deadline passes (now).
        const hung = new Promise<never>((_resolve, reject) =>
          call?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        );
        queueMicrotask(() => {
          for (const expire of [...expiries]) expire();
        });
        return hung;
      },
      async list(tags: Readonly<Record<string, string>>) {
        if (failLists-- > 0) throw new Error('injected: list failed');
        return inner.list(tags);
      },
    },
    { create: 300, get: 300, list: 300, delete: 300 },
    timer,
  );
  const store = openSqliteStore(':memory:');
  const time = fakeClock();
  const service = createDispatchService({
    config,
    store,
    clock: time.clock,
    newId: sequentialIds(),
    log: createLogger('silent'),
    forgejoFor: forgejoClients(config),
    providerFor: () => provider,
    warmUserData: ({ vmId }) => `vm=${vmId}`,
    timer: () => () => undefined,
  });
  const route = config.routes[0];
  let lastSeq = 0;

  async function cold(): Promise<Outcome> {
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const request = {
      scope: 'org:acme',
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
    };
    let id: string;
    try {
      id = (await service.dispatch(request, { name: 'autoscaler', scopes: '*' })).record.id;
    } catch {
      return 'none'; // refused: every choice is cooling down
    }
    await service.drain();
    const record = await store.get(id);
    if (record?.state === 'booting') return `made ${record.machine}`;
    return record?.state === 'provisioning' ? 'unresolved' : 'none';
  }

  async function warm(): Promise<Outcome> {
    const pool = await store.listWarm();
    const callsBefore = cloud.calls.length;
    // Want exactly one more idle VM than the pool holds now, so a refill makes one.
    Object.assign(route?.warm ?? {}, { min_idle: pool.length + 1 });
    await service.refillWarm();
    await service.drain();
    // The pool VM this refill tried, by the name its creates carried (`<fleet id>-<pool id>`).
    const tried = cloud.calls.slice(callsBefore).find((c) => c.verb === 'create');
    const vm = tried === undefined ? undefined : await store.getWarm(tried.arg.replace(/^cw-/, ''));
    if (vm?.state === 'booting') return `made ${vm.machine}`;
    return vm?.reason?.startsWith('create answer lost') ? 'unresolved' : 'none';
  }

  return {
    cloud,
    store,
    service,
    now: time.now,
    advance: time.advance,
    /** The next `n` creates hang until their deadline. */
    hangNextCreates(n: number) {
      hangCreates = n;
    },
    /** The next `n` lookups by tag fail. */
    failNextLists(n: number) {
      failLists = n;
    },
    /** Makes one VM through this world's caller. */
    async createOne(): Promise<Outcome> {
      return caller === 'cold' ? cold() : warm();
    },
    /** The choice of every create called so far, in order. */
    creates(): (string | undefined)[] {
      return cloud.calls.filter((c) => c.verb === 'create').map((c) => c.choice);
    },
    /** Decisions since the last call, as `[kind, choice, error_class]`. */
    async newDecisions(): Promise<[string, string | null, string | null][]> {
      const decisions = await store.listDecisions({ after: lastSeq, limit: 100 });
      lastSeq = decisions.reduce((max, d) => Math.max(max, d.seq), lastSeq);
      return decisions.filter((d) => d.kind !== 'refusal').map((d) => [d.kind, d.choice, d.error_class]);
    },
    async close() {
      await service.drain();
      await store.close();
      await forgejo.close();
    },
  };
}
