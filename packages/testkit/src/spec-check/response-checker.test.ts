import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeAnswer } from '../fake-answer.js';
import { checkAnswers, createResponseChecker, type Deviations, formatMismatch } from './response-checker.js';
import { loadSpec, SpecMissingError } from './spec-files.js';

// The checker on two tiny documents (OpenAPI 3 like Hetzner's, Swagger 2 like Forgejo's): it must
// find every kind of drift the fake tests rely on it to find, and allow only what is documented.

const oas3 = {
  openapi: '3.0.3',
  paths: {
    '/servers/{id}': {
      get: {
        operationId: 'get_server',
        responses: {
          '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/answer' } } } },
          '4xx': { content: { 'application/json': { schema: { $ref: '#/components/schemas/error' } } } },
        },
      },
    },
  },
  components: {
    schemas: {
      answer: {
        type: 'object',
        required: ['server'],
        properties: {
          server: {
            type: 'object',
            required: ['id', 'datacenter', 'created'],
            properties: {
              id: { type: 'integer' },
              created: { type: 'string', format: 'date-time' },
              image: { type: 'object', nullable: true, properties: { id: { type: 'integer' } } },
              datacenter: {
                allOf: [{ $ref: '#/components/schemas/data_center' }],
              },
            },
          },
        },
      },
      data_center: {
        type: 'object',
        required: ['name', 'server_types'],
        properties: { name: { type: 'string' }, server_types: { type: 'object' } },
      },
      error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
};

const swagger2 = {
  swagger: '2.0',
  basePath: '/api/v1',
  paths: {
    '/repos/{owner}/{repo}/hooks/{id}': {
      get: { operationId: 'repoGetHook', responses: { '200': { $ref: '#/responses/Hook' } } },
      delete: { operationId: 'repoDeleteHook', responses: { '204': { $ref: '#/responses/empty' } } },
    },
    '/repos/{owner}/{repo}/hooks/git': {
      get: { operationId: 'repoListGitHooks', responses: { '200': { $ref: '#/responses/HookList' } } },
    },
    '/user': { get: { operationId: 'userGetCurrent', responses: { '200': { $ref: '#/responses/User' } } } },
  },
  responses: {
    Hook: { description: 'Hook', schema: { $ref: '#/definitions/Hook' } },
    HookList: { description: 'HookList', schema: { type: 'array', items: { $ref: '#/definitions/Hook' } } },
    User: { description: 'User', schema: { $ref: '#/definitions/User' } },
    empty: { description: 'empty' },
    forbidden: { description: 'forbidden', schema: { $ref: '#/definitions/APIError' } },
  },
  definitions: {
    Hook: {
      type: 'object',
      properties: { id: { type: 'integer' }, events: { type: 'array', items: { type: 'string' } } },
    },
    User: { type: 'object', properties: { id: { type: 'integer' }, login: { type: 'string' } } },
    APIError: { type: 'object', properties: { message: { type: 'string' }, url: { type: 'string' } } },
  },
};

function answer(
  method: string,
  path: string,
  status: number,
  body: unknown,
  contentType = 'application/json',
) {
  return {
    method,
    path,
    query: '',
    status,
    contentType,
    body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
  } satisfies FakeAnswer;
}

const server = (extra: Record<string, unknown> = {}) => ({
  server: {
    id: 1,
    created: '2024-01-01T00:00:00Z',
    image: null,
    datacenter: { name: 'fsn1-dc1', server_types: {} },
    ...extra,
  },
});

describe('response checker, OpenAPI 3', () => {
  const checker = createResponseChecker(oas3, { basePath: '/v1' });
  const lines = (a: FakeAnswer) => checker.check(a).mismatches.map(formatMismatch);

  it.each([
    ['a valid answer', answer('GET', '/v1/servers/1', 200, server()), []],
    [
      'a missing required property',
      answer('GET', '/v1/servers/1', 200, server({ datacenter: { name: 'x' } })),
      [
        "get_server (GET /servers/{id}) → 200 at /server/datacenter/server_types: must have required property 'server_types'",
      ],
    ],
    [
      'a property the spec does not know',
      answer('GET', '/v1/servers/1', 200, server({ extra: 1 })),
      ['get_server (GET /servers/{id}) → 200 at /server/extra: must NOT have additional properties'],
    ],
    [
      'a wrong type',
      answer('GET', '/v1/servers/1', 200, server({ id: '1' })),
      ['get_server (GET /servers/{id}) → 200 at /server/id: must be integer'],
    ],
    [
      'a timestamp that is not date-time',
      answer('GET', '/v1/servers/1', 200, server({ created: 'yesterday' })),
      ['get_server (GET /servers/{id}) → 200 at /server/created: must match format "date-time"'],
    ],
    [
      'an error answer, checked against the 4xx range',
      answer('GET', '/v1/servers/1', 404, { error: { code: 'not_found', message: 'gone' } }),
      [],
    ],
    [
      'a bad error answer',
      answer('GET', '/v1/servers/1', 429, { error: { code: 7, message: 'slow down' } }),
      ['get_server (GET /servers/{id}) → 429 at /error/code: must be string'],
    ],
    [
      'a status the spec does not list',
      answer('GET', '/v1/servers/1', 503, { error: { code: 'x', message: 'y' } }),
      [
        "get_server (GET /servers/{id}) → 503 at (body): status 503 is not in the spec's responses for this operation",
      ],
    ],
    [
      'a route the spec does not have',
      answer('DELETE', '/v1/servers/1', 200, {}),
      ['DELETE /v1/servers/1 → 200 at (body): no operation in the spec serves DELETE /v1/servers/1'],
    ],
    [
      'a body that is not JSON',
      answer('GET', '/v1/servers/1', 200, 'ok', 'text/plain'),
      ['get_server (GET /servers/{id}) → 200 at (body): body is not JSON (content-type text/plain)'],
    ],
  ])('%s', (_name, given, expected) => {
    expect(lines(given)).toEqual(expected);
  });
});

describe('response checker, Swagger 2 and documented deviations', () => {
  const deviations = {
    nullForEmptyList: { name: 'nil slice', reason: 'Go' },
    addedProperties: [
      { schema: '#/definitions/User', property: 'username', name: 'User.username', reason: 'compat' },
    ],
    extraStatuses: [
      { status: 403, response: '#/responses/forbidden', name: '403 by middleware', reason: 'auth' },
    ],
    outsideSpec: [{ pathPrefix: '/api/actions/', name: 'rpc', reason: 'not REST' }],
  } satisfies Deviations;
  const strict = createResponseChecker(swagger2, { basePath: '/api/v1' });
  const lenient = createResponseChecker(swagger2, { basePath: '/api/v1', deviations });

  it.each([
    [
      'a literal path beats a template',
      answer('GET', '/api/v1/repos/a/b/hooks/git', 200, [{ id: 1 }]),
      [],
      [],
    ],
    [
      'an empty answer where the spec has none',
      answer('DELETE', '/api/v1/repos/a/b/hooks/1', 204, undefined),
      [],
      [],
    ],
    [
      'a body where the spec has none',
      answer('DELETE', '/api/v1/repos/a/b/hooks/1', 204, { id: 1 }),
      ['repoDeleteHook (DELETE /repos/{owner}/{repo}/hooks/{id}) → 204 at (body): must be null'],
      ['repoDeleteHook (DELETE /repos/{owner}/{repo}/hooks/{id}) → 204 at (body): must be null'],
    ],
    [
      'null for a list',
      answer('GET', '/api/v1/repos/a/b/hooks/git', 200, null),
      ['repoListGitHooks (GET /repos/{owner}/{repo}/hooks/git) → 200 at (body): must be array'],
      [],
    ],
    [
      'null for a nested list',
      answer('GET', '/api/v1/repos/a/b/hooks/1', 200, { id: 1, events: null }),
      ['repoGetHook (GET /repos/{owner}/{repo}/hooks/{id}) → 200 at /events: must be array'],
      [],
    ],
    [
      'a string for a list is never allowed',
      answer('GET', '/api/v1/repos/a/b/hooks/1', 200, { id: 1, events: 'push' }),
      ['repoGetHook (GET /repos/{owner}/{repo}/hooks/{id}) → 200 at /events: must be array'],
      ['repoGetHook (GET /repos/{owner}/{repo}/hooks/{id}) → 200 at /events: must be array'],
    ],
    [
      'the documented added property',
      answer('GET', '/api/v1/user', 200, { id: 1, login: 'a', username: 'a' }),
      ['userGetCurrent (GET /user) → 200 at /username: must NOT have additional properties'],
      [],
    ],
    [
      'another added property',
      answer('GET', '/api/v1/user', 200, { id: 1, login: 'a', nick: 'a' }),
      ['userGetCurrent (GET /user) → 200 at /nick: must NOT have additional properties'],
      ['userGetCurrent (GET /user) → 200 at /nick: must NOT have additional properties'],
    ],
    [
      'a status answered by middleware',
      answer('GET', '/api/v1/user', 403, { message: 'no', url: 'u' }),
      [
        "userGetCurrent (GET /user) → 403 at (body): status 403 is not in the spec's responses for this operation",
      ],
      [],
    ],
    [
      'a status answered by middleware, with a bad body',
      answer('GET', '/api/v1/user', 403, { message: 1 }),
      [
        "userGetCurrent (GET /user) → 403 at (body): status 403 is not in the spec's responses for this operation",
      ],
      ['userGetCurrent (GET /user) → 403 at /message: must be string'],
    ],
    [
      'another protocol on the same server',
      answer('POST', '/api/actions/runner.v1.RunnerService/Declare', 200, { runner: {} }),
      [
        'POST /api/actions/runner.v1.RunnerService/Declare → 200 at (body): no operation in the spec serves POST /api/actions/runner.v1.RunnerService/Declare',
      ],
      [],
    ],
  ])('%s', (_name, given, withoutDeviations, withDeviations) => {
    expect(strict.check(given).mismatches.map(formatMismatch)).toEqual(withoutDeviations);
    expect(lenient.check(given).mismatches.map(formatMismatch)).toEqual(withDeviations);
  });

  it('names the deviations each answer needed, and sums them up', () => {
    const answers = [
      answer('GET', '/api/v1/repos/a/b/hooks/git', 200, null),
      answer('GET', '/api/v1/user', 403, { message: 'no', url: 'u' }),
      answer('GET', '/api/v1/user', 200, { id: 1, login: 'a', username: 'a' }),
      answer('GET', '/api/v1/user', 200, { id: 1, login: 'a', username: 'a' }),
    ];
    expect(lenient.check(answers[0] as FakeAnswer).deviations).toEqual(['nil slice']);
    const summary = checkAnswers(lenient, answers);
    expect(summary.failures).toEqual([]);
    expect(summary.deviationsUsed).toEqual(
      new Map([
        ['nil slice', 1],
        ['403 by middleware', 1],
        ['User.username', 2],
      ]),
    );
    expect([...summary.covered].sort()).toEqual([
      'repoListGitHooks 200',
      'userGetCurrent 200',
      'userGetCurrent 403',
    ]);
  });
});

describe('response checker, a listed status with another body, and plain-text answers', () => {
  // Kubernetes' shape: the spec lists a bare 401 and no errors; the server answers every error with a
  // Status, and its request filters answer 429 in plain text.
  const doc = {
    swagger: '2.0',
    paths: {
      '/pods': {
        get: {
          operationId: 'listPods',
          responses: { '200': { schema: { type: 'object' } }, '401': { description: 'Unauthorized' } },
        },
      },
    },
    responses: { status: { description: 'Status', schema: { $ref: '#/definitions/Status' } } },
    definitions: {
      Status: { type: 'object', properties: { kind: { type: 'string' }, code: { type: 'integer' } } },
    },
  };
  const deviations = {
    extraStatuses: [
      {
        status: 401,
        response: '#/responses/status',
        replacesListed: true,
        name: '401 Status',
        reason: 'authn',
      },
      { status: 404, response: '#/responses/status', name: '404 Status', reason: 'errors' },
    ],
    plainTextStatuses: [{ status: 429, name: '429 text', reason: 'max-in-flight filter' }],
  } satisfies Deviations;
  const strict = createResponseChecker(doc, { basePath: '' });
  const lenient = createResponseChecker(doc, { basePath: '', deviations });
  const status = (code: unknown) => ({ kind: 'Status', code });

  it.each([
    [
      'a Status for the bare 401',
      answer('GET', '/pods', 401, status(401)),
      ['listPods (GET /pods) → 401 at (body): must be null'],
      [],
      ['401 Status'],
    ],
    [
      'a bad Status for the bare 401',
      answer('GET', '/pods', 401, status('401')),
      ['listPods (GET /pods) → 401 at (body): must be null'],
      ['listPods (GET /pods) → 401 at /code: must be integer'],
      ['401 Status'],
    ],
    [
      'an unlisted status is not replaced where the spec has it',
      answer('GET', '/pods', 200, status(200)),
      [],
      [],
      [],
    ],
    [
      'a plain-text 429',
      answer(
        'GET',
        '/pods',
        429,
        'Too many requests, please try again later.\n',
        'text/plain; charset=utf-8',
      ),
      ["listPods (GET /pods) → 429 at (body): status 429 is not in the spec's responses for this operation"],
      [],
      ['429 text'],
    ],
    [
      'plain text on another status',
      answer('GET', '/pods', 404, 'not found', 'text/plain'),
      ["listPods (GET /pods) → 404 at (body): status 404 is not in the spec's responses for this operation"],
      ['listPods (GET /pods) → 404 at (body): body is not JSON (content-type text/plain)'],
      ['404 Status'],
    ],
  ])('%s', (_name, given, withoutDeviations, withDeviations, used) => {
    expect(strict.check(given).mismatches.map(formatMismatch)).toEqual(withoutDeviations);
    const result = lenient.check(given);
    expect(result.mismatches.map(formatMismatch)).toEqual(withDeviations);
    expect(result.deviations).toEqual(used);
  });
});

describe('spec files', () => {
  it('fails, never skips, when ../shared/specs is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-specs-'));
    try {
      expect(() => loadSpec('hcloud-openapi.json', dir)).toThrow(SpecMissingError);
      expect(() => loadSpec('hcloud-openapi.json', dir)).toThrow(
        `API spec ${join(dir, 'hcloud-openapi.json')} not found: the fakes' spec-validation tests need ../shared/specs/hcloud-openapi.json`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
