/**
 * Bad Forgejo responses (fast-check): for every client call, a generated status, content type and
 * body (random JSON, the right shape with one field broken, HTML error pages, truncated text) either
 * gives validated data or one of the client's typed errors, never a TypeError or an unhandled
 * rejection, and never the token in an error message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hook, JSON_HEADERS, job, mockForgejo, runner, TOKEN } from './__fixtures__/mock-forgejo.js';
import { ForgejoApiError, ForgejoNetworkError } from './errors.js';
import { parseScope } from './scope.js';

export const FUZZ_RUNS = 1000;

const scope = parseScope('org:acme');
const PREFIX = '/api/v1/orgs/acme';
/** Each call with the path it requests and a well-formed answer to break. */
const CALLS = [
  { name: 'listJobs', method: 'GET', path: `${PREFIX}/actions/runners/jobs`, good: [job()] },
  {
    name: 'registerRunner',
    method: 'POST',
    path: `${PREFIX}/actions/runners`,
    good: { id: 1, uuid: 'u', token: 't' },
  },
  { name: 'getRunner', method: 'GET', path: `${PREFIX}/actions/runners/7`, good: runner(7) },
  { name: 'listRunners', method: 'GET', path: `${PREFIX}/actions/runners`, good: [runner(1)] },
  { name: 'deleteRunner', method: 'DELETE', path: `${PREFIX}/actions/runners/7`, good: null },
  { name: 'listHooks', method: 'GET', path: `${PREFIX}/hooks`, good: [hook(1)] },
  {
    name: 'getOrg',
    method: 'GET',
    path: '/api/v1/orgs/acme',
    good: { id: 2, name: 'acme', username: 'acme' },
  },
] as const;

type Call = (typeof CALLS)[number];

function invoke(client: ReturnType<typeof mockForgejo>['client'], call: Call): Promise<unknown> {
  switch (call.name) {
    case 'listJobs':
      return client.listJobs(scope);
    case 'registerRunner':
      return client.registerRunner(scope, { name: 'ff-1', ephemeral: true, description: 'd' });
    case 'getRunner':
      return client.getRunner(scope, 7);
    case 'listRunners':
      return client.listRunners(scope);
    case 'deleteRunner':
      return client.deleteRunner(scope, 7);
    case 'listHooks':
      return client.listHooks(scope);
    case 'getOrg':
      return client.getOrg('acme');
  }
}

/** The well-formed answer with one value somewhere inside replaced. */
function breakOne(good: unknown, pick: number, replacement: unknown): unknown {
  const leaves: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  (function walk(value: unknown) {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) {
        leaves.push({ parent: value, key: i });
        walk(v);
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        leaves.push({ parent: value as Record<string, unknown>, key: k });
        walk(v);
      }
    }
  })(good);
  const leaf = leaves[pick % Math.max(1, leaves.length)];
  if (leaf === undefined) return replacement;
  (leaf.parent as Record<string | number, unknown>)[leaf.key] = replacement;
  return good;
}

const ANSWER = fc.record({
  call: fc.constantFrom(...CALLS),
  status: fc.oneof(
    fc.constantFrom(200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503),
    fc.integer({ min: 200, max: 599 }),
  ),
  contentType: fc.constantFrom(JSON_HEADERS['content-type'], 'text/html', 'text/plain', ''),
  body: fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.nat(), fc.jsonValue())
        .map(([pick, value]) => ({ kind: 'broken', pick, value }) as const),
    },
    { weight: 2, arbitrary: fc.jsonValue().map((value) => ({ kind: 'json', value }) as const) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.string(),
          fc.constantFrom(
            '<html><body>502 Bad Gateway</body></html>',
            '{"message":',
            '',
            `{"message":"token ${TOKEN} rejected"}`,
          ),
        )
        .map((text) => ({ kind: 'text', text }) as const),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'good' } as const) },
  ),
});

describe('Forgejo client under bad responses', () => {
  it(`${FUZZ_RUNS} generated answers: data or a typed error, never the token`, async () => {
    const outcomes = { data: 0, typed: 0 };
    await fc.assert(
      fc.asyncProperty(ANSWER, async ({ call, status, contentType, body }) => {
        const { pool, client, agent } = mockForgejo({ retry: { attempts: 1 } });
        const good = structuredClone(call.good) as unknown;
        const text =
          body.kind === 'text'
            ? body.text
            : JSON.stringify(
                body.kind === 'good'
                  ? good
                  : body.kind === 'json'
                    ? body.value
                    : breakOne(good, body.pick, body.value),
              );
        pool
          .intercept({ path: (p) => p.split('?')[0] === call.path, method: call.method })
          .reply(status, text ?? '', { headers: contentType === '' ? {} : { 'content-type': contentType } });
        try {
          await invoke(client, call);
          outcomes.data++;
        } catch (error) {
          if (!(error instanceof ForgejoApiError || error instanceof ForgejoNetworkError)) throw error;
          expect(String(error.message)).not.toContain(TOKEN);
          outcomes.typed++;
        } finally {
          await agent.close();
        }
      }),
      { numRuns: FUZZ_RUNS, seed: 8 },
    );
    expect(outcomes.data).toBeGreaterThan(0);
    expect(outcomes.typed).toBeGreaterThan(0);
  }, 30_000);
});
