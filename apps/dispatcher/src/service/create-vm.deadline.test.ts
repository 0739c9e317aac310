import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { type CallOptions, type InstanceSpec, type Provider, withDeadlines } from '@forgejo-fleet/providers';
import { openSqliteStore, type Store } from '@forgejo-fleet/store';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryProvider } from '../__fixtures__/memory-provider.js';
import { seedAcme, sequentialIds } from '../__fixtures__/world-parts.js';
import { createLogger } from '../logger.js';
import { forgejoClients } from '../wiring.js';
import { createDispatchService, type DispatchService } from './service.js';

// A create cut off by its deadline, with a provider whose create hangs until it is aborted: the
// deadline wrapper (the one the registry applies) ends it, the create slot is free again, and the
// lost-answer lookup runs before any fallback.
const CALLER = { name: 'autoscaler', scopes: '*' as const };
const DEADLINE_MS = 300;
const SHORT = { create: DEADLINE_MS, get: DEADLINE_MS, list: DEADLINE_MS, delete: DEADLINE_MS };

let forgejo: RunningFakeForgejo;
let store: Store;
let service: DispatchService;
let aws: ReturnType<typeof memoryProvider>;
let hetzner: ReturnType<typeof memoryProvider>;
/** Every provider call in order, as `provider verb`. */
let order: string[];
/** How many of aws's next creates hang until aborted; whether its lists hang too. */
let hangCreates: number;
let hangLists: boolean;

function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), {
      once: true,
    });
  });
}

/** aws as the dispatcher sees it: the memory cloud, hanging on demand, behind real deadlines. */
function hangingAws(): Provider {
  const inner = aws.provider;
  return withDeadlines(
    {
      ...inner,
      async create(spec: InstanceSpec, options?: CallOptions) {
        order.push('aws create');
        if (hangCreates-- > 0) return untilAborted(options?.signal);
        return inner.create(spec);
      },
      async list(tags: Readonly<Record<string, string>>, options?: CallOptions) {
        order.push(`aws list ${JSON.stringify(tags)}`);
        if (hangLists) return untilAborted(options?.signal);
        return inner.list(tags);
      },
    },
    SHORT,
  );
}

beforeEach(async () => {
  forgejo = await startFakeForgejo();
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: dl
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, token_env: FT }
providers:
  aws: { kind: shell, command: [/bin/false], create_concurrency: 1 }
  hetzner: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [aws, hetzner] }
scopes:
  org:acme: {}
clients:
  - { name: autoscaler, token_env: CT, scopes: ['*'] }
`,
    { file: 'dl.yaml', env: { FT: token, CT: 'client-token-0123456789' } },
  );
  order = [];
  hangCreates = 0;
  hangLists = false;
  aws = memoryProvider('aws');
  hetzner = memoryProvider('hetzner');
  const awsWithDeadlines = hangingAws();
  const hetznerProvider: Provider = {
    ...hetzner.provider,
    async create(spec) {
      order.push('hetzner create');
      return hetzner.provider.create(spec);
    },
  };
  store = openSqliteStore(':memory:');
  let now = Date.parse('2026-11-23T10:00:00Z');
  service = createDispatchService({
    config,
    store,
    clock: {
      now: () => now,
      async sleep(ms) {
        now += ms;
      },
    },
    newId: sequentialIds(),
    log: createLogger('silent'),
    forgejoFor: forgejoClients(config),
    providerFor: (name) => (name === 'aws' ? awsWithDeadlines : hetznerProvider),
  });
});

afterEach(async () => {
  await service.drain();
  await store.close();
  await forgejo.close();
});

async function dispatch() {
  const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
  const { record } = await service.dispatch(
    {
      scope: 'org:acme',
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
    },
    CALLER,
  );
  return record.id;
}

describe('a create cut off by its deadline', () => {
  it('fails at the deadline, looks up by dispatch tag before the fallback, and frees the create slot', async () => {
    hangCreates = 1;
    const started = performance.now();

    const first = await dispatch();
    await service.drain();

    expect(performance.now() - started).toBeLessThan(DEADLINE_MS * 3);
    expect(order).toEqual([
      'aws create',
      `aws list ${JSON.stringify({ 'forgejo-fleet': 'dl', 'forgejo-fleet-dispatch': first })}`,
      'hetzner create',
    ]);
    expect(await store.get(first)).toMatchObject({ state: 'booting', provider: 'hetzner' });
    const decisions = await service.decisions({ dispatch_id: first, limit: 10 });
    expect(decisions[0]).toMatchObject({ kind: 'fallback', provider: 'aws', error_class: 'transient' });
    expect(decisions[0]?.reason).toContain('deadline of 0.3 s exceeded');

    // create_concurrency 1: the next create gets aws's only slot at once.
    const second = await dispatch();
    await service.drain();

    expect(order.slice(3)).toEqual(['aws create']);
    expect(await store.get(second)).toMatchObject({ state: 'booting', provider: 'aws' });
    expect(aws.instances.size).toBe(1);
  });

  it('stops the fallback when the lookup is cut off by its deadline too', async () => {
    hangCreates = 1;
    hangLists = true;

    const id = await dispatch();
    await service.drain();

    expect(order).toEqual([
      'aws create',
      `aws list ${JSON.stringify({ 'forgejo-fleet': 'dl', 'forgejo-fleet-dispatch': id })}`,
    ]);
    expect(await store.get(id)).toMatchObject({ state: 'provisioning' });
    expect(hetzner.instances.size).toBe(0);
    const decisions = await service.decisions({ dispatch_id: id, limit: 10 });
    expect(decisions[0]).toMatchObject({ kind: 'create-failed', provider: 'aws', error_class: 'transient' });
  });
});
