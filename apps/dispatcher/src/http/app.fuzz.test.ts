/**
 * Bad input for the dispatch API (fast-check): generated bodies, headers, paths and queries never
 * get a 5xx or crash the app, errors keep the `{ error: { code, message } }` shape, and a rejected
 * request changes nothing in the store and calls neither Forgejo nor the provider.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE_TOKEN, AUTOSCALER_TOKEN, dispatcherHarness } from '../__fixtures__/harness.js';
import { MAX_BODY_BYTES } from './app.js';

/** Cases per property; the report in docs/reliability.md quotes these. */
export const FUZZ_RUNS = { dispatch: 1000, otherEndpoints: 500 } as const;

const ASCII = fc.string({
  unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZabcxyz[\\]^_`{|}~'),
  maxLength: 40,
});
const WEIRD = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', '\u0000', '💥', 'a'.repeat(400), '../../etc', 'org:acme\n', '%00', '__proto__'),
);
const SCOPE = fc.oneof(
  fc.constantFrom(
    'org:acme',
    'user:alice',
    'ORG:Acme',
    'org:',
    'repo:a/b/c',
    'instance',
    'org:nope',
    'repo:',
  ),
  WEIRD,
  fc.integer(),
  fc.constant(null),
);
const LABELS = fc.oneof(
  fc.constantFrom(['linux', 'small'], ['linux', 'gpu', 'large'], ['linux'], [], ['linux', 'small', 'extra']),
  fc.array(fc.oneof(WEIRD, fc.integer(), fc.constant(null)), { maxLength: 40 }),
  WEIRD,
);
const JOB = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      handle: fc.oneof(fc.uuid(), WEIRD, fc.integer()),
      id: fc.oneof(fc.integer({ min: -5, max: 2 ** 40 }), fc.double(), WEIRD),
      attempt: fc.oneof(fc.integer({ min: -1, max: 5 }), WEIRD),
      repo_id: fc.oneof(fc.nat(), fc.integer({ min: -3, max: -1 })),
      owner_id: fc.oneof(fc.nat(), fc.constant(null)),
      name: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);
const VALID_JOB = fc.record({
  handle: fc.uuid(),
  id: fc.integer({ min: 1, max: 1e6 }),
  attempt: fc.integer({ min: 1, max: 3 }),
  repo_id: fc.nat(),
  owner_id: fc.nat(),
  name: fc.string({ minLength: 1, maxLength: 50 }),
});
/** A valid request with at most one field replaced by a generated one: reaches the service. */
const NEAR_VALID = fc
  .tuple(
    fc.record({
      scope: fc.constantFrom('org:acme', 'user:alice', 'ORG:acme'),
      labels: fc.constantFrom(['linux', 'small'], ['linux', 'gpu', 'large'], ['linux', 'nvme']),
      job: fc.option(VALID_JOB, { nil: undefined }),
    }),
    fc.constantFrom('none', 'none', 'scope', 'labels', 'job', 'handle'),
    fc.record({ scope: SCOPE, labels: LABELS, job: JOB, handle: WEIRD }),
  )
  .map(([valid, field, bad]) => {
    if (field === 'none') return JSON.stringify(valid);
    if (field === 'handle') return JSON.stringify({ ...valid, job: { ...valid.job, handle: bad.handle } });
    return JSON.stringify({ ...valid, [field]: bad[field] });
  });
const BODY = fc.oneof(
  { weight: 4, arbitrary: NEAR_VALID },
  {
    weight: 4,
    arbitrary: fc
      .record({ scope: SCOPE, labels: LABELS, job: JOB, extra: fc.anything() }, { requiredKeys: [] })
      .map((b) => JSON.stringify(b)),
  },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.oneof(fc.string(), fc.string({ unit: 'binary' })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{',
      '{"scope":',
      'null',
      '[]',
      '""',
      '{"scope":"org:acme","labels":["linux"]}x',
    ),
  },
  { weight: 1, arbitrary: fc.nat({ max: 3 }).map((n) => `{"scope":"${'x'.repeat(MAX_BODY_BYTES + n)}"}`) },
);
const AUTH = fc.oneof(
  fc.constant(`Bearer ${AUTOSCALER_TOKEN}`),
  fc.constant(`bearer   ${AUTOSCALER_TOKEN}  `),
  fc.constant(`Bearer ${ALICE_TOKEN}`),
  ASCII.map((t) => `Bearer ${t}`),
  ASCII,
  fc.constant(undefined),
);
const CONTENT_TYPE = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'text/plain',
    'application/jsonx',
    '',
  ),
  ASCII,
  fc.constant(undefined),
);
const EXTRA_HEADERS = fc.dictionary(fc.stringMatching(/^x-[a-z-]{1,12}$/), ASCII, { maxKeys: 3 });

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
beforeAll(async () => {
  h = await dispatcherHarness({ maxVms: 100_000, globalMaxVms: 100_000 });
});
afterAll(async () => {
  await h.close();
});

/** Everything a rejected request must leave as it was. */
async function snapshot(lastDecision: number) {
  const page = await h.store.list({ limit: 500 });
  return {
    dispatches: page.items.map((r) => `${r.id}:${r.state}:${r.updated_at}`).join(','),
    newDecisions: (await h.store.listDecisions({ after: lastDecision, limit: 10 })).length,
    forgejoCalls: h.forgejo.calls().length,
    providerCalls: h.provider.calls.length,
  };
}

let seenDecisions = 0;

/** The newest decision's sequence number (paging on from the last one seen). */
async function latestDecision(): Promise<number> {
  let after = seenDecisions;
  for (;;) {
    const page = await h.store.listDecisions({ after, limit: 1000 });
    const last = page.at(-1);
    if (last === undefined) {
      seenDecisions = after;
      return after;
    }
    after = last.seq;
  }
}

async function check(path: string, init: RequestInit): Promise<number> {
  await h.service.drain();
  const last = await latestDecision();
  const before = await snapshot(last);
  const res = await h.app.request(path, init);
  const text = await res.text();
  expect(res.status, `${init.method} ${path} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof body.error?.code).toBe('string');
    expect(typeof body.error?.message).toBe('string');
    expect(await snapshot(last)).toEqual(before);
  }
  return res.status;
}

function headers(auth: string | undefined, type: string | undefined, extra: Record<string, string>) {
  return {
    ...extra,
    ...(auth === undefined ? {} : { authorization: auth }),
    ...(type === undefined ? {} : { 'content-type': type }),
  };
}

describe('dispatch API under bad input', () => {
  it(`POST /v1/dispatch: ${FUZZ_RUNS.dispatch} generated bodies and headers, no 5xx, rejections change nothing`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(BODY, AUTH, CONTENT_TYPE, EXTRA_HEADERS, async (body, auth, type, extra) => {
        const status = await check('/v1/dispatch', {
          method: 'POST',
          headers: headers(auth, type, extra),
          body,
        });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: FUZZ_RUNS.dispatch, seed: 9 },
    );
    // The generators reach past auth and parsing, or the property proves little.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([202, 400, 401]));
  }, 60_000);

  it(`other endpoints: ${FUZZ_RUNS.otherEndpoints} generated paths, queries and bodies, no 5xx`, async () => {
    const ENDPOINT = fc.oneof(
      fc.record({
        method: fc.constant('GET'),
        path: fc.constantFrom('/v1/dispatches', '/v1/decisions'),
        query: fc.dictionary(
          fc.constantFrom('state', 'scope', 'route', 'limit', 'cursor', 'after', 'dispatch_id', 'x'),
          fc.oneof(ASCII, fc.constantFrom('0', '-1', '501', '1e9', 'NaN', 'booting')),
        ),
      }),
      fc.record({
        method: fc.constantFrom('GET', 'DELETE'),
        path: ASCII.map((id) => `/v1/dispatches/${encodeURIComponent(id)}`),
        query: fc.constant({}),
      }),
      fc.record({
        method: fc.constant('GET'),
        path: ASCII.map((id) => `/v1/dispatches/${encodeURIComponent(id)}/why`),
        query: fc.constant({}),
      }),
      fc.record({
        method: fc.constantFrom('POST', 'PUT', 'PATCH'),
        path: fc.constantFrom('/v1/reconcile', '/v1/routes', '/v1/nope', '/v1/dispatch'),
        query: fc.constant({}),
      }),
    );
    await fc.assert(
      fc.asyncProperty(ENDPOINT, AUTH, BODY, async ({ method, path, query }, auth, body) => {
        const search = new URLSearchParams(query).toString();
        const withBody = method !== 'GET' && method !== 'DELETE';
        await check(`${path}${search ? `?${search}` : ''}`, {
          method,
          headers: headers(auth, withBody ? 'application/json' : undefined, {}),
          ...(withBody ? { body } : {}),
        });
      }),
      { numRuns: FUZZ_RUNS.otherEndpoints, seed: 11 },
    );
  }, 60_000);
});
