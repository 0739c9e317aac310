/**
 * The tenant matrix: every endpoint × (own-scope client, other-scope client, `*` client). One
 * dispatch exists, in org:acme. The other-scope client must get, byte for byte, what it gets in
 * a world where that dispatch was never made; every refusal leaves the store (dispatches,
 * transitions, decisions, warm VMs) and the provider (instances, calls) as they were.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACME_CI_TOKEN, ALICE_TOKEN, AUTOSCALER_TOKEN, dispatcherHarness } from '../__fixtures__/harness.js';
import { warmWorld } from '../__fixtures__/warm-world.js';

const HANDLE = '6d0d4f0e-8c1b-4d8e-9a7e-5b7a8f7c2e11';
const JOB = { handle: HANDLE, id: 41, attempt: 1, repo_id: 1, owner_id: 3, name: 'build' };
const ACME_REQUEST = { scope: 'org:acme', labels: ['linux'], job: JOB };
/** A route budget (every tenant's use) and acme's own budget: what each client may see differs. */
const BUDGETS = {
  routeLimits: 'vm_minutes_per_day: 600',
  acmeSettings: 'limits: { money_per_day: 5 }',
  choices: { local: [{ key: 'm', machine: 'm', hourlyPrice: 6 }] },
};

type Harness = Awaited<ReturnType<typeof dispatcherHarness>>;
type Client = 'own' | 'other' | 'star';
const TOKENS: Record<Client, string> = { own: ACME_CI_TOKEN, other: ALICE_TOKEN, star: AUTOSCALER_TOKEN };

interface Answer {
  status: number;
  type: string | null;
  body: string;
}

let world: Harness;
let empty: Harness;
let dispatchId: string;

beforeEach(async () => {
  world = await dispatcherHarness(BUDGETS);
  empty = await dispatcherHarness(BUDGETS);
  const made = await world.request('POST', '/v1/dispatch', ACME_REQUEST);
  expect(made.status).toBe(202);
  dispatchId = ((await made.json()) as { id: string }).id;
  await world.service.drain();
});
afterEach(async () => {
  await world.close();
  await empty.close();
});

async function ask(
  h: Harness,
  method: string,
  path: string,
  client: Client,
  body?: unknown,
): Promise<Answer> {
  const res = await h.request(method, path, body, TOKENS[client]);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

async function snapshot(h: Harness) {
  return {
    dispatches: await h.store.list({ limit: 500 }),
    decisions: await h.store.listDecisions({ limit: 1000 }),
    warm: await h.store.listWarm(),
    instances: structuredClone([...h.provider.instances.entries()]),
    calls: structuredClone(h.provider.calls),
    forgejoCalls: h.forgejo.calls().length,
  };
}

/** The same client, the same request, in a world where the dispatch was never made. */
const AS_IF_MISSING = 'as if missing';
type Expect = number | typeof AS_IF_MISSING;

// [endpoint, method, path (ID and HANDLE filled in), body, own, other, star]
const MATRIX: [string, string, string, unknown, Expect, Expect, Expect][] = [
  ['get by id', 'GET', '/v1/dispatches/ID', undefined, 200, AS_IF_MISSING, 200],
  ['why by id', 'GET', '/v1/dispatches/ID/why', undefined, 200, AS_IF_MISSING, 200],
  ['why by job handle', 'GET', '/v1/dispatches/HANDLE/why', undefined, 200, AS_IF_MISSING, 200],
  ['cancel', 'DELETE', '/v1/dispatches/ID', undefined, 200, AS_IF_MISSING, 200],
  ['list', 'GET', '/v1/dispatches', undefined, 200, AS_IF_MISSING, 200],
  ['list by scope', 'GET', '/v1/dispatches?scope=org:acme', undefined, 200, AS_IF_MISSING, 200],
  ['decisions', 'GET', '/v1/decisions', undefined, 200, AS_IF_MISSING, 200],
  ['decisions of the dispatch', 'GET', '/v1/decisions?dispatch_id=ID', undefined, 200, AS_IF_MISSING, 200],
  ['routes', 'GET', '/v1/routes', undefined, 200, AS_IF_MISSING, 200],
  ['budgets', 'GET', '/v1/budgets', undefined, 200, AS_IF_MISSING, 200],
  ['reconcile', 'POST', '/v1/reconcile', undefined, 403, 403, 202],
  ['dispatch the same job again', 'POST', '/v1/dispatch', ACME_REQUEST, 200, 403, 200],
  [
    'dispatch its handle for my own scope',
    'POST',
    '/v1/dispatch',
    { ...ACME_REQUEST, scope: 'user:alice' },
    403,
    409,
    409,
  ],
];

const CASES = MATRIX.flatMap(([endpoint, method, path, body, own, other, star]) =>
  (
    [
      ['own', own],
      ['other', other],
      ['star', star],
    ] as const
  ).map(([client, expected]) => ({ endpoint, method, path, body, client, expected })),
);

describe('tenant matrix', () => {
  it.each(CASES)('$endpoint as the $client-scope client → $expected', async (c) => {
    const path = c.path.replace('ID', dispatchId).replace('HANDLE', HANDLE);
    const before = await snapshot(world);

    const answer = await ask(world, c.method, path, c.client, c.body);

    if (c.expected === AS_IF_MISSING) {
      expect(answer).toEqual(await ask(empty, c.method, path, c.client, c.body));
      // Only what the caller sent comes back (an id in the path); nothing of the dispatch itself.
      for (const fact of ['org:acme', '"build"', 'acme-ci', HANDLE, dispatchId]) {
        if (!path.includes(fact)) expect(answer.body).not.toContain(fact);
      }
    } else {
      expect(answer.status).toBe(c.expected);
    }
    const mutated = c.method === 'DELETE' && answer.status === 200;
    if (!mutated) expect(await snapshot(world)).toEqual(before);
  });

  it('lets own-scope and * clients read the dispatch; the other client sees nothing of it', async () => {
    const seen = async (client: Client) => ({
      get: ((await ask(world, 'GET', `/v1/dispatches/${dispatchId}`, client)).body.match(/"id":"(\w+)"/) ??
        [])[1],
      list: (
        JSON.parse((await ask(world, 'GET', '/v1/dispatches', client)).body) as { items: { id: string }[] }
      ).items.map((d) => d.id),
      decisions: (
        JSON.parse((await ask(world, 'GET', '/v1/decisions', client)).body) as { items: { scope: string }[] }
      ).items.map((d) => d.scope),
    });
    const own = await seen('own');
    const other = await seen('other');

    expect(own.get).toBe(dispatchId);
    expect(own.list).toEqual([dispatchId]);
    expect(own.decisions.length).toBeGreaterThan(0);
    expect(new Set(own.decisions)).toEqual(new Set(['org:acme']));
    expect(other).toEqual({ get: undefined, list: [], decisions: [] });
    expect((await seen('star')).list).toEqual([dispatchId]);
  });

  it('cancel by its own scope ends the dispatch and deletes its VM', async () => {
    expect((await ask(world, 'DELETE', `/v1/dispatches/${dispatchId}`, 'own')).status).toBe(200);
    expect((await world.service.get(dispatchId)).state).toBe('cancelled');
    expect(world.provider.instances.size).toBe(0);
  });

  it('a 409 for a handle the caller cannot see names no scope, route or dispatch', async () => {
    const answer = await ask(world, 'POST', '/v1/dispatch', 'other', {
      ...ACME_REQUEST,
      scope: 'user:alice',
    });
    const body = JSON.parse(answer.body) as { error: Record<string, unknown> };

    expect(body).toEqual({ error: { code: 'conflict', message: `handle ${HANDLE} is already dispatched` } });
    for (const secret of [dispatchId, 'org:acme', 'small']) expect(answer.body).not.toContain(secret);
  });

  it('a 409 for a handle the caller can see keeps the helpful body', async () => {
    const answer = await ask(world, 'POST', '/v1/dispatch', 'star', { ...ACME_REQUEST, scope: 'user:alice' });
    const body = JSON.parse(answer.body) as { error: { message: string; details: unknown } };

    expect(body.error.message).toContain('org:acme');
    expect(body.error.details).toEqual({ dispatch_id: dispatchId });
  });

  it('route counts: own scopes only for a scoped client, warm counts only for *', async () => {
    const live = async (client: Client) =>
      (
        JSON.parse((await ask(world, 'GET', '/v1/routes', client)).body) as {
          routes: { name: string; live_vms: number }[];
        }
      ).routes.map((r) => [r.name, r.live_vms]);

    expect(await live('star')).toEqual([
      ['small', 1],
      ['gpu', 0],
    ]);
    expect(await live('own')).toEqual([
      ['small', 1],
      ['gpu', 0],
    ]);
    expect(await live('other')).toEqual([
      ['small', 0],
      ['gpu', 0],
    ]);
  });
});

describe('budgets', () => {
  it('own scope: its scope budget only; other scope: none of acme; *: every route and scope budget', async () => {
    world.advance(30 * 60_000); // the acme VM has run 30 minutes today
    const caps = async (client: Client) => {
      const answer = await ask(world, 'GET', '/v1/budgets', client);
      expect(answer.status).toBe(200);
      return (JSON.parse(answer.body) as { items: Record<string, unknown>[] }).items;
    };
    const acme = {
      cap: 'scopes.org:acme.limits.money_per_day',
      used: 3, // 30 minutes at 6 an hour
      limit: 5,
      unit: 'money',
      resets_at: '2026-11-24T00:00:00.000Z',
    };

    expect(await caps('own')).toEqual([acme]);
    expect(await caps('other')).toEqual([]);
    expect(await caps('star')).toEqual([
      {
        cap: 'routes.small.limits.vm_minutes_per_day',
        used: 30,
        limit: 600,
        unit: 'minutes',
        resets_at: '2026-11-24T00:00:00.000Z',
      },
      acme,
    ]);
  });
});

describe('warm pool counts', () => {
  it('are fleet-wide, so only a * client sees them', async () => {
    const w = await warmWorld(2);
    try {
      await w.service.refillWarm();
      await w.service.drain();

      const [star] = await w.service.routeViews({ name: 'ops', scopes: '*' });
      const [scoped] = await w.service.routeViews({ name: 'acme-ci', scopes: ['org:acme'] });

      expect(star?.warm).toEqual({ target: 2, idle: 0, booting: 2 });
      expect(scoped?.warm).toEqual({ target: 2, idle: null, booting: null });
    } finally {
      await w.close();
    }
  });
});
