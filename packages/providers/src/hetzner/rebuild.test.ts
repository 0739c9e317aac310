import { Secret } from '@forgejo-fleet/runtime/config';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { type RunningFakeHetzner, startFakeHetzner } from '@forgejo-fleet/testkit';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstanceNotFoundError, type InstanceSpec, type Provider, ProviderError } from '../provider.js';
import { inFlightTracker } from './__fixtures__/in-flight.js';
import type { HetznerProviderOptions } from './config.js';
import { createHetznerProvider, createRateLimiter, RateLimiters } from './index.js';
import { REBUILD_PENDING_MS, toInstance } from './instance.js';
import { IDEMPOTENCY_LABEL, keyMark, REBUILD_AT_LABEL, REBUILD_LABEL } from './labels.js';
import { REBUILD_TIMEOUT_MS } from './rebuild.js';

const TOKEN = 'hcloud-token-never-shown-0123456789';
const ACTION_MS = 10_000;

let fake: RunningFakeHetzner;
let agent: Agent;
let clock: ReturnType<typeof virtualClock>;
let limiters: RateLimiters;

beforeEach(async () => {
  const tracker = inFlightTracker();
  clock = virtualClock(undefined, tracker.settled);
  limiters = new RateLimiters(() => tracker.wrap(createRateLimiter(clock)));
  agent = new Agent({ connections: 16 });
  fake = await startFakeHetzner({ now: clock.now, token: TOKEN, actionMs: ACTION_MS });
});
afterEach(async () => {
  await fake.close();
  await agent.close();
});

function provider(
  config: Partial<HetznerProviderOptions> = {},
): Provider & Required<Pick<Provider, 'rebuild'>> {
  const made = createHetznerProvider(
    'hetzner-test',
    {
      endpoint: fake.url,
      token: new Secret(TOKEN, 'test'),
      server_types: ['cpx22', 'cx23'],
      locations: ['fsn1'],
      image: 'ubuntu-24.04',
      ssh_keys: [],
      firewalls: [],
      networks: [],
      public_net: { ipv4: true, ipv6: true },
      hourly_prices: undefined,
      ...config,
    },
    undefined,
    { dispatcher: agent, clock, rateLimiters: limiters },
  );
  const { rebuild } = made;
  if (rebuild === undefined) throw new Error('the Hetzner provider must offer rebuild');
  return Object.assign(made, { rebuild });
}

function spec(dispatch: string, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    name: `acme-ci-${dispatch}`,
    idempotencyKey: `acme-ci-${dispatch}-hetzner`,
    userData: `#cloud-config\n# runner token secret-of-${dispatch}\n`,
    tags: {
      'forgejo-fleet': 'acme-ci',
      'forgejo-fleet-dispatch': dispatch,
      'forgejo-fleet-scope': `repo:alice/${dispatch}`,
    },
    ...extra,
  };
}

/** A server that ran its job and powered itself off: what a rebuild reuses. */
async function finishedServer(p: Provider, dispatch = 'd1') {
  const instance = await p.create(spec(dispatch));
  clock.advance(ACTION_MS);
  fake.setStatus(instance.id, 'off');
  return instance.id;
}

/** The requests since `from`, ids as N, repeats (action polls) once. */
function requestsSince(from: number): string[] {
  return fake
    .calls()
    .slice(from)
    .map((c) => `${c.method} ${c.path.replace(/\/\d+/g, '/N')}`)
    .filter((request, i, all) => request !== all[i - 1]);
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof ProviderError))
    throw new Error(`expected a ProviderError, got ${String(outcome)}`);
  for (const secret of [TOKEN, 'secret-of-']) expect(outcome.message).not.toContain(secret);
  return outcome;
}

describe('hetzner rebuild', () => {
  it('claims the server for the new dispatch, then rebuilds it from the image with the new user-data', async () => {
    const p = provider();
    const id = await finishedServer(p);
    const before = fake.calls().length;

    const instance = await p.rebuild(id, spec('d2'));

    expect(requestsSince(before)).toEqual([
      'GET /v1/servers/N',
      'GET /v1/servers/N/actions',
      'PUT /v1/servers/N',
      'POST /v1/servers/N/actions/rebuild',
      'GET /v1/actions/N',
      'PUT /v1/servers/N',
    ]);
    const server = fake.server(id);
    expect(server?.rebuilds).toHaveLength(1);
    const [rebuild] = server?.rebuilds ?? [];
    expect(rebuild).toMatchObject({
      image: 'ubuntu-24.04',
      userData: spec('d2').userData,
      poweredOffFrom: 'off',
    });
    // The machine never boots the new user-data under the old dispatch's labels.
    expect(rebuild?.labels['forgejo-fleet-dispatch']).toBe('d2');
    expect(rebuild?.labels[IDEMPOTENCY_LABEL]).toBe(keyMark(spec('d2').idempotencyKey));
    expect(server?.userData).toBe(spec('d2').userData);
    expect(server?.labels[REBUILD_LABEL]).toBe(`done-${rebuild?.actionId}`);
    expect(server?.labels[REBUILD_AT_LABEL]).toBeUndefined();
    expect(instance).toMatchObject({ id, name: 'acme-ci-d2', state: 'running', machine: 'cpx22' });
    expect(instance.tags).toEqual(spec('d2').tags);
  });

  it('a server still running is powered off by Hetzner first, and reports pending while it rebuilds', async () => {
    const p = provider();
    const made = await p.create(spec('d1'));
    clock.advance(ACTION_MS);
    fake.injectActionFault({ command: 'rebuild_server', outcome: 'hang', times: 1 });
    const stalled = await failure(p.rebuild(made.id, spec('d2')));
    expect(stalled.class).toBe('transient');
    expect(stalled.message).toMatch(/did not finish within 300 s/);
    expect(fake.server(made.id)?.rebuilds[0]?.poweredOffFrom).toBe('running');
    expect((await p.get(made.id))?.state).toBe('pending');
  });

  it('the same key again, sequentially or concurrently, rebuilds once; create with that key adopts the server', async () => {
    const p = provider();
    const id = await finishedServer(p);
    const [a, b] = await Promise.all([p.rebuild(id, spec('d2')), p.rebuild(id, spec('d2'))]);
    const c = await p.rebuild(id, spec('d2'));
    expect([a.id, b.id, c.id]).toEqual([id, id, id]);
    expect(fake.server(id)?.rebuilds).toHaveLength(1);
    expect((await p.create(spec('d2'))).id).toBe(id);
    expect(fake.servers()).toHaveLength(1);
  });

  it('a rebuild for another dispatch while one runs in this process is refused, not queued', async () => {
    const p = provider();
    const id = await finishedServer(p);
    const first = p.rebuild(id, spec('d2'));
    const error = await failure(p.rebuild(id, spec('d3')));
    expect(error).toMatchObject({ class: 'fatal' });
    expect(error.message).toMatch(/being rebuilt for another dispatch/);
    expect((await first).tags['forgejo-fleet-dispatch']).toBe('d2');
    expect(fake.server(id)?.rebuilds).toHaveLength(1);
  });

  it('a server created with the key is already what a rebuild with that key would make', async () => {
    const p = provider();
    const made = await p.create(spec('d1'));
    const again = await p.rebuild(made.id, spec('d1'));
    expect(again.id).toBe(made.id);
    expect(fake.server(made.id)?.rebuilds).toHaveLength(0);
  });

  it('a later dispatch rebuilds the same server again', async () => {
    const p = provider();
    const id = await finishedServer(p);
    await p.rebuild(id, spec('d2'));
    fake.setStatus(id, 'off');
    const third = await p.rebuild(id, spec('d3'));
    expect(fake.server(id)?.rebuilds.map((r) => r.labels['forgejo-fleet-dispatch'])).toEqual(['d2', 'd3']);
    expect(third.tags['forgejo-fleet-dispatch']).toBe('d3');
    expect(fake.server(id)?.userData).toBe(spec('d3').userData);
  });

  it('rebuilds from the newest snapshot of the label selector', async () => {
    const snapshot = fake.addImage({ type: 'snapshot', labels: { role: 'runner' }, name: 'runner-v2' });
    const p = provider({ image: { label_selector: 'role=runner' } });
    const id = await finishedServer(p);
    await p.rebuild(id, spec('d2'));
    expect(fake.server(id)?.rebuilds[0]?.image).toBe(String(snapshot));
  });
});

describe('hetzner rebuild after a crash between its calls', () => {
  it.each([
    {
      between: 'the claim and the rebuild request',
      crash: (id: string) =>
        fake.injectFault({
          method: 'POST',
          path: `/servers/${id}/actions/rebuild`,
          code: 'forbidden',
          times: 1,
        }),
      rebuiltBeforeRetry: 0,
    },
    {
      between: 'the rebuild request and the end of its action',
      crash: () => fake.injectFault({ method: 'GET', path: /^\/actions\/\d+$/, code: 'forbidden', times: 1 }),
      rebuiltBeforeRetry: 1,
    },
    {
      between: 'the end of the action and the done mark',
      crash: (id: string) =>
        fake.injectFault({ method: 'PUT', path: `/servers/${id}`, code: 'forbidden', skip: 1, times: 1 }),
      rebuiltBeforeRetry: 1,
    },
  ])('between $between: the next call with the key completes it, rebuilding once', async (row) => {
    const p = provider();
    const id = await finishedServer(p);
    row.crash(id);

    const crashed = await failure(p.rebuild(id, spec('d2')));
    expect(crashed.class).toBe('fatal');
    // Claimed already: the new dispatch's tags, and pending until the rebuild is done.
    const meanwhile = await p.get(id);
    expect(meanwhile).toMatchObject({ state: 'pending', name: 'acme-ci-d2' });
    expect(meanwhile?.tags).toEqual(spec('d2').tags);
    expect(fake.server(id)?.rebuilds).toHaveLength(row.rebuiltBeforeRetry);

    const instance = await p.rebuild(id, spec('d2'));
    expect(fake.server(id)?.rebuilds).toHaveLength(1);
    expect(fake.server(id)?.userData).toBe(spec('d2').userData);
    expect(fake.server(id)?.labels[REBUILD_LABEL]).toMatch(/^done-\d+$/);
    expect(instance.state).toBe('running');
  });

  it('a lost answer to the rebuild request is resolved by finding the action, not by a second rebuild', async () => {
    const p = provider();
    const id = await finishedServer(p);
    fake.loseRebuildResponses(1);
    const instance = await p.rebuild(id, spec('d2'));
    expect(fake.server(id)?.rebuilds).toHaveLength(1);
    expect(instance.tags['forgejo-fleet-dispatch']).toBe('d2');
  });

  it('a claim whose caller died stays pending only for a while, then the status counts again', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    const server = {
      id: 42,
      name: 'acme-ci-d2',
      status: 'off',
      created: '2026-01-01T10:00:00Z',
      labels: { [REBUILD_LABEL]: 'after-7', [REBUILD_AT_LABEL]: String(now / 1_000) },
      server_type: { name: 'cpx22' },
      location: { name: 'fsn1' },
    };
    expect(toInstance(server, now + 60_000).state).toBe('pending');
    expect(toInstance({ ...server, status: 'running' }, now).state).toBe('pending');
    expect(toInstance(server, now + REBUILD_PENDING_MS).state).toBe('stopped');
    expect(toInstance({ ...server, labels: { [REBUILD_LABEL]: 'done-9' } }, now).state).toBe('stopped');
    expect(toInstance({ ...server, status: 'deleting' }, now).state).toBe('terminated');
  });
});

describe('hetzner rebuild errors', () => {
  it('a deleted server, or an id Hetzner never gives, is an InstanceNotFoundError', async () => {
    const p = provider();
    const id = await finishedServer(p);
    await p.delete(id);
    for (const missing of [id, 'not-a-number']) {
      const error = await failure(p.rebuild(missing, spec('d2')));
      expect(error).toBeInstanceOf(InstanceNotFoundError);
      expect(error).toMatchObject({ class: 'fatal', retryable: false, instanceId: missing });
    }
  });

  it('a server deleted under a running rebuild is an InstanceNotFoundError', async () => {
    const p = provider();
    const id = await finishedServer(p);
    fake.injectFault({ method: 'POST', path: `/servers/${id}/actions/rebuild`, code: 'not_found', times: 1 });
    fake.injectFault({ method: 'GET', path: `/servers/${id}`, skip: 1, code: 'not_found' });
    expect(await failure(p.rebuild(id, spec('d2')))).toBeInstanceOf(InstanceNotFoundError);
  });

  it('a missing image is fatal, not a missing server', async () => {
    const server = await finishedServer(provider());
    const error = await failure(provider({ image: 'no-such-image' }).rebuild(server, spec('d2')));
    expect(error).not.toBeInstanceOf(InstanceNotFoundError);
    expect(error.class).toBe('fatal');
  });

  it('a server locked for a moment is waited for; locked for good is transient', async () => {
    const p = provider();
    const id = await finishedServer(p);
    fake.injectFault({ method: 'POST', path: `/servers/${id}/actions/rebuild`, code: 'locked', times: 2 });
    await p.rebuild(id, spec('d2'));
    expect(fake.server(id)?.rebuilds).toHaveLength(1);

    fake.setStatus(id, 'off');
    fake.injectFault({ method: 'POST', path: `/servers/${id}/actions/rebuild`, code: 'conflict' });
    const started = clock.now();
    const error = await failure(p.rebuild(id, spec('d3')));
    expect(error).toMatchObject({ class: 'transient', retryable: true });
    expect(error.message).toMatch(/gave up after 300 s.*conflict/);
    expect(clock.now() - started).toBeGreaterThanOrEqual(REBUILD_TIMEOUT_MS);
    expect(fake.server(id)?.rebuilds).toHaveLength(1);
  });

  it('rate_limit_exceeded is rate-limited with a Retry-After', async () => {
    const p = provider();
    const id = await finishedServer(p);
    fake.injectFault({
      method: 'POST',
      path: `/servers/${id}/actions/rebuild`,
      code: 'rate_limit_exceeded',
      times: 3,
    });
    const error = await failure(p.rebuild(id, spec('d2')));
    expect(error).toMatchObject({ class: 'rate-limited', retryable: true });
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });

  it('a failed rebuild action is fatal, and a repeated call reports it again without another rebuild', async () => {
    const p = provider();
    const id = await finishedServer(p);
    fake.injectActionFault({ command: 'rebuild_server', outcome: 'error', code: 'rebuild_failed', times: 1 });
    const error = await failure(p.rebuild(id, spec('d2')));
    expect(error).toMatchObject({ class: 'fatal' });
    expect(error.message).toMatch(/rebuild action failed \(rebuild_failed\)/);
    expect((await failure(p.rebuild(id, spec('d2')))).message).toMatch(/rebuild action failed/);
    expect(fake.server(id)?.rebuilds).toHaveLength(1);
    expect(fake.server(id)?.status).toBe('off');
  });

  it.each([
    [
      'another machine choice',
      spec('d2', { choice: { key: 'cx23@fsn1', machine: 'cx23', location: 'fsn1' } }),
      /cx23@fsn1/,
    ],
    ['a name that is not a hostname', spec('d2', { name: 'Not_A_Host' }), /hostname/],
    ['user-data over 32 KiB', spec('d2', { userData: `secret-of-d2${'x'.repeat(33 * 1024)}` }), /32768/],
  ])('%s is fatal, before anything changes', async (_what, bad, message) => {
    const p = provider();
    const id = await finishedServer(p);
    const error = await failure(p.rebuild(id, bad));
    expect(error.class).toBe('fatal');
    expect(error.message).toMatch(message);
    expect(fake.server(id)?.labels['forgejo-fleet-dispatch']).toBe('d1');
    expect(fake.server(id)?.rebuilds).toHaveLength(0);
  });

  it('a name taken by another server is fatal, and nothing is rebuilt', async () => {
    const p = provider();
    const id = await finishedServer(p);
    await p.create(spec('d2'));
    const error = await failure(p.rebuild(id, spec('d2')));
    expect(error.message).toMatch(/"acme-ci-d2" is taken/);
    expect(fake.server(id)?.rebuilds).toHaveLength(0);
  });

  it('an aborted signal rejects with an AbortError before any request', async () => {
    const p = provider();
    const id = await finishedServer(p);
    const before = fake.calls().length;
    const outcome = await p.rebuild(id, spec('d2'), { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((outcome as Error).name).toBe('AbortError');
    expect(fake.calls()).toHaveLength(before);
  });
});
