import { Secret } from '@forgejo-fleet/runtime/config';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { type RunningFakeHetzner, startFakeHetzner } from '@forgejo-fleet/testkit';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceSpec, MachineChoice } from '../provider.js';
import { ProviderError } from '../provider.js';
import { inFlightTracker } from './__fixtures__/in-flight.js';
import type { HetznerProviderOptions } from './config.js';
import { createHetznerProvider, createRateLimiter, type RateLimiter, RateLimiters } from './index.js';
import { OFF_DURING_CREATE_MS } from './instance.js';

let fake: RunningFakeHetzner;
let agent: Agent;
let clock: ReturnType<typeof virtualClock>;
let limiters: RateLimiters;

beforeEach(async () => {
  const tracker = inFlightTracker();
  clock = virtualClock(undefined, tracker.settled);
  limiters = new RateLimiters(() => tracker.wrap(createRateLimiter(clock)));
  agent = new Agent({ connections: 64 });
});
afterEach(async () => {
  await fake.close();
  await agent.close();
});

async function setup(
  fakeOptions: Parameters<typeof startFakeHetzner>[0] = {},
  config: Partial<HetznerProviderOptions> = {},
) {
  fake = await startFakeHetzner({ now: clock.now, ...fakeOptions });
  return provider(config);
}

function provider(config: Partial<HetznerProviderOptions> = {}, deps: { rateLimiters?: RateLimiters } = {}) {
  const options: HetznerProviderOptions = {
    endpoint: fake.url,
    token: new Secret(fake.token, 'test'),
    server_types: ['cpx22', 'cx23'],
    locations: ['fsn1', 'nbg1'],
    image: 'ubuntu-24.04',
    ssh_keys: ['ops'],
    firewalls: [1234567],
    networks: [42],
    public_net: { ipv4: false, ipv6: true },
    hourly_prices: { cpx22: 0.0113 },
    ...config,
  };
  return createHetznerProvider('hetzner-test', options, undefined, {
    dispatcher: agent,
    clock,
    rateLimiters: limiters,
    ...deps,
  });
}

function spec(
  overrides: Partial<Omit<InstanceSpec, 'choice'>> & { choice?: MachineChoice | undefined } = {},
): InstanceSpec {
  const { choice, ...rest } = overrides;
  return {
    name: 'acme-ci-d0123456789ab',
    idempotencyKey: 'acme-ci-d0123456789ab-hetzner',
    userData: '#cloud-config\nwrite_files: [{path: /x, content: "ü ✓"}]\n',
    tags: {
      'forgejo-fleet': 'acme-ci',
      'forgejo-fleet-dispatch': 'd0123456789ab',
      'forgejo-fleet-scope': 'repo:alice/website',
    },
    ...rest,
    ...(choice === undefined ? {} : { choice }),
  };
}

describe('hetzner create', () => {
  it('sends type, image, location, labels, user-data, keys, firewalls, networks and public_net', async () => {
    const p = await setup();
    const instance = await p.create(spec());
    const server = fake.servers()[0];
    expect(server?.request).toMatchObject({
      name: 'acme-ci-d0123456789ab',
      server_type: 'cpx22',
      image: 'ubuntu-24.04',
      location: 'fsn1',
      user_data: spec().userData,
      ssh_keys: ['ops'],
      firewalls: [{ firewall: 1234567 }],
      networks: [42],
      public_net: { enable_ipv4: false, enable_ipv6: true },
      start_after_create: true,
    });
    expect(server?.labels['forgejo-fleet-scope']).toMatch(/^repo-alice-website-[0-9a-f]{12}$/);
    expect(instance).toMatchObject({
      id: String(server?.id),
      name: 'acme-ci-d0123456789ab',
      state: 'pending',
      machine: 'cpx22',
    });
    expect(instance.tags).toEqual(spec().tags);
    expect(p.choices.map((c) => c.key)).toEqual(['cpx22@fsn1', 'cpx22@nbg1', 'cx23@fsn1', 'cx23@nbg1']);
    expect(p.choices[0]).toEqual({
      key: 'cpx22@fsn1',
      machine: 'cpx22',
      location: 'fsn1',
      hourlyPrice: 0.0113,
    });
  });

  it('resource_unavailable on the first two choices: both are capacity errors, the third creates', async () => {
    const p = await setup();
    fake.injectCreateError({ serverType: 'cpx22', location: 'fsn1', code: 'resource_unavailable' });
    fake.injectCreateError({ serverType: 'cpx22', location: 'nbg1', code: 'resource_unavailable' });
    const outcomes: string[] = [];
    for (const choice of p.choices) {
      try {
        const instance = await p.create(spec({ choice }));
        outcomes.push(`${choice.key}: created ${instance.machine}`);
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(ProviderError);
        outcomes.push(`${choice.key}: ${(error as ProviderError).class}`);
      }
    }
    expect(outcomes).toEqual(['cpx22@fsn1: capacity', 'cpx22@nbg1: capacity', 'cx23@fsn1: created cx23']);
    expect(fake.servers().map((s) => [s.serverType, s.location])).toEqual([['cx23', 'fsn1']]);
  });

  it('the same dispatch again, on any choice, adopts its server by name (uniqueness_error)', async () => {
    const p = await setup();
    const first = await p.create(spec());
    const again = await p.create(spec());
    const otherChoice = await p.create(spec({ choice: p.choices[3] }));
    const [a, b] = await Promise.all([p.create(spec()), p.create(spec())]);
    for (const instance of [again, otherChoice, a, b]) expect(instance.id).toBe(first.id);
    expect(fake.servers()).toHaveLength(1);
  });

  it("a name taken by another dispatch's server is a fatal conflict, not an adoption", async () => {
    const p = await setup();
    await p.create(spec());
    const error = await p.create(spec({ idempotencyKey: 'another-dispatch' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ class: 'fatal' });
    expect(String(error)).toContain('taken by a server of another dispatch');
  });

  it('a lost answer (server made, connection reset) is resolved by looking the name up', async () => {
    const p = await setup();
    fake.loseCreateResponses(1);
    const instance = await p.create(spec());
    expect(fake.servers().map((s) => String(s.id))).toEqual([instance.id]);
    expect(fake.calls().map((c) => `${c.method} ${c.path}${c.query}`)).toEqual([
      'POST /v1/servers',
      'GET /v1/servers?name=acme-ci-d0123456789ab',
    ]);
  });

  it.each([
    ['resource_unavailable', 'capacity'],
    ['placement_error', 'capacity'],
    ['resource_limit_exceeded', 'quota'],
    ['locked', 'transient'],
    ['conflict', 'transient'],
    ['timeout', 'transient'],
    ['unavailable', 'transient'],
    ['server_error', 'transient'],
    ['invalid_input', 'fatal'],
    ['forbidden', 'fatal'],
  ])('error code %s is %s', async (code, errorClass) => {
    const p = await setup();
    fake.injectFault({ method: 'POST', path: '/servers', code });
    const error = await p.create(spec()).catch((e: unknown) => e);
    expect(error).toMatchObject({ class: errorClass });
    expect(String(error)).not.toContain(fake.token);
  });

  it('a wrong token and an unknown image are fatal; the token never shows', async () => {
    await setup();
    const wrong = createHetznerProvider(
      'h',
      { ...optionsOf(), token: new Secret('wrong-token-123', 't') },
      undefined,
      { dispatcher: agent, clock },
    );
    const error = await wrong.create(spec()).catch((e: unknown) => e);
    expect(error).toMatchObject({ class: 'fatal' });
    expect(String(error)).not.toContain('wrong-token-123');
    const noImage = provider({ image: 'no-such-image' });
    expect(await noImage.create(spec()).catch((e: unknown) => e)).toMatchObject({ class: 'fatal' });
  });

  it('uses the newest snapshot matching the label selector, looked up once', async () => {
    const p = await setup({}, { image: { label_selector: 'role=runner' } });
    fake.addImage({ type: 'snapshot', labels: { role: 'runner' }, createdAt: 1 });
    const newest = fake.addImage({ type: 'snapshot', labels: { role: 'runner' }, createdAt: 2 });
    await p.create(spec());
    await p.create(spec({ name: 'second', idempotencyKey: 'second' }));
    expect(fake.servers().map((s) => s.image)).toEqual([String(newest), String(newest)]);
    expect(fake.calls().filter((c) => c.path === '/v1/images')).toHaveLength(1);
  });

  it('a scope override brings its own project token', async () => {
    await setup();
    const scoped = createHetznerProvider(
      'h',
      { ...optionsOf(), token: new Secret('not-this-one', 't') },
      { token: new Secret(fake.token, 'scope') },
      { dispatcher: agent, clock },
    );
    expect((await scoped.create(spec())).name).toBe('acme-ci-d0123456789ab');
  });
});

function optionsOf(): HetznerProviderOptions {
  return {
    endpoint: fake.url,
    token: new Secret(fake.token, 'test'),
    server_types: ['cpx22'],
    locations: ['fsn1'],
    image: 'ubuntu-24.04',
    ssh_keys: [],
    firewalls: [],
    networks: [],
    public_net: { ipv4: true, ipv6: true },
    hourly_prices: undefined,
  };
}

describe('hetzner list, get, delete', () => {
  it('lists by label selector across pages of 50, decoding tags', async () => {
    const p = await setup({ rateLimit: false });
    for (let i = 0; i < 120; i++) await p.create(spec({ name: `ours-${i}`, idempotencyKey: `k-${i}` }));
    await p.create(spec({ name: 'theirs', idempotencyKey: 'k-x', tags: { 'forgejo-fleet': 'other' } }));
    const before = fake.calls().length;
    const listed = await p.list({ 'forgejo-fleet': 'acme-ci', 'forgejo-fleet-scope': 'repo:alice/website' });
    expect(listed).toHaveLength(120);
    expect(listed[0]?.tags['forgejo-fleet-scope']).toBe('repo:alice/website');
    const pages = fake.calls().slice(before);
    expect(pages.map((c) => new URLSearchParams(c.query).get('page'))).toEqual(['1', '2', '3']);
    expect(new URLSearchParams(pages[0]?.query).get('per_page')).toBe('50');
  });

  it('a powered-off server is stopped (to be deleted), except while it is being created', async () => {
    const p = await setup();
    const instance = await p.create(spec());
    fake.setStatus(instance.id, 'off');
    expect((await p.get(instance.id))?.state).toBe('pending');
    clock.advance(OFF_DURING_CREATE_MS);
    expect((await p.get(instance.id))?.state).toBe('stopped');
    fake.setStatus(instance.id, 'running');
    expect((await p.get(instance.id))?.state).toBe('running');
  });

  it('delete is idempotent; unknown ids are absent', async () => {
    const p = await setup();
    const instance = await p.create(spec());
    expect(await p.delete(instance.id)).toBe('deleted');
    expect(await p.delete(instance.id)).toBe('not-found');
    expect(await p.get(instance.id)).toBeUndefined();
    expect(await p.get('not-a-number')).toBeUndefined();
    expect(await p.delete('not-a-number')).toBe('not-found');
  });

  it('retries a read that failed with a 5xx', async () => {
    const p = await setup();
    fake.injectFault({ method: 'GET', path: '/servers', code: 'server_error', times: 1 });
    expect(await p.list({ 'forgejo-fleet': 'acme-ci' })).toEqual([]);
    expect(clock.slept).toEqual([1_000]);
  });
});

describe('hetzner rate limit', () => {
  async function burst(p: ReturnType<typeof provider>, count: number, concurrency: number) {
    const results: (string | ProviderError)[] = [];
    let next = 0;
    async function worker() {
      while (next < count) {
        const i = next++;
        results[i] = await p
          .create(spec({ name: `burst-${i}`, idempotencyKey: `burst-${i}` }))
          .then((instance) => instance.id)
          .catch((e: ProviderError) => e);
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
    return results;
  }

  it.each([1, 25])(
    'a burst of 500 creates (concurrency %i) against limit 60, refill 1/s never hits rate_limit_exceeded and takes the minimal time',
    async (concurrency) => {
      // The provider starts out assuming Hetzner's default 3,600 and learns 60 from the headers.
      const p = await setup({ rateLimit: { limit: 60, refillPerSecond: 1 } });
      const start = clock.now();
      const results = await burst(p, 500, concurrency);
      const elapsed = clock.now() - start;

      expect(results.filter((r) => typeof r !== 'string')).toEqual([]);
      expect(fake.servers()).toHaveLength(500);
      expect(fake.stats()).toEqual({ requests: 500, rateLimited: 0 });
      // 60 at once, the other 440 at one per second: 440 s is the least the bucket allows.
      expect(elapsed).toBeGreaterThanOrEqual(440_000);
      expect(elapsed).toBeLessThanOrEqual(440_010);
    },
  );

  it('without the limiter the same burst does hit rate_limit_exceeded (the test can fail)', async () => {
    const open: RateLimiter = { acquire: async () => undefined, observe: () => undefined };
    await setup({ rateLimit: { limit: 60, refillPerSecond: 1 } });
    const p = provider({}, { rateLimiters: new RateLimiters(() => open) });
    const results = await burst(p, 100, 1);
    expect(fake.stats().rateLimited).toBeGreaterThan(0);
    expect(
      results
        .filter((r) => r instanceof ProviderError)
        .every((e) => (e as ProviderError).class === 'rate-limited'),
    ).toBe(true);
  });

  it('providers sharing a project token share one bucket', async () => {
    await setup({ rateLimit: { limit: 10, refillPerSecond: 1 } });
    const a = provider();
    const b = provider({ locations: ['nbg1'] });
    const start = clock.now();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? a : b).create(spec({ name: `s-${i}`, idempotencyKey: `s-${i}` })),
      ),
    );
    expect(fake.stats().rateLimited).toBe(0);
    expect(clock.now() - start).toBe(20_000);
  });
});
