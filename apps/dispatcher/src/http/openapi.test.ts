import { openApiDocument } from '@forgejo-fleet/dispatch-api';
import { validate } from '@readme/openapi-parser';
import type { Hono } from 'hono';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dispatcherHarness } from '../__fixtures__/harness.js';
import type { AppEnv } from './env.js';
import { createOpsApp } from './ops.js';

let h: Awaited<ReturnType<typeof dispatcherHarness>>;
beforeEach(async () => {
  h = await dispatcherHarness();
});
afterEach(async () => {
  await h.close();
});

/** Every handler the app registered, as `METHOD /openapi/{template}` (middleware left out). */
function registered(app: Hono<AppEnv>): string[] {
  const ops = app.routes
    .filter((r) => r.method !== 'ALL')
    // The status page (`/ui`) is HTML for people, not part of the JSON API the document describes.
    .filter((r) => r.path !== '/ui' && !r.path.startsWith('/ui/'))
    .map((r) => `${r.method} ${r.path.replaceAll(/:(\w+)/g, '{$1}')}`);
  return [...new Set(ops)].sort();
}

function documented(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

describe('the served OpenAPI document', () => {
  it('is the generated one and valid OpenAPI 3', async () => {
    const served = (await (await h.app.request('/openapi.json')).json()) as Record<string, unknown>;

    const result = await validate(structuredClone(served) as never);

    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(served).toEqual(openApiDocument());
  });

  it('documents exactly the routes the API listener serves', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };

    expect(registered(h.app)).toEqual(documented(doc));
  });

  it('documents every route of the ops listener', () => {
    const ops = createOpsApp({
      service: { ready: async () => ({ ok: true, checks: {}, role: 'leader' as const }) },
      log: pino({ level: 'silent' }),
      newRequestId: () => 'r1',
    });

    expect(documented(openApiDocument() as never)).toEqual(expect.arrayContaining(registered(ops)));
    expect(registered(ops)).toEqual(['GET /healthz', 'GET /metrics', 'GET /readyz']);
  });

  it('shows the bounds the server checks on query parameters', () => {
    const doc = openApiDocument() as {
      paths: Record<string, { get?: { parameters?: { name: string; schema: Record<string, unknown> }[] } }>;
    };
    const limit = doc.paths['/v1/dispatches']?.get?.parameters?.find((p) => p.name === 'limit');
    const state = doc.paths['/v1/dispatches']?.get?.parameters?.find((p) => p.name === 'state');

    expect(limit?.schema).toMatchObject({ minimum: 1, maximum: 500, default: 50 });
    expect(state?.schema).toMatchObject({ enum: expect.arrayContaining(['accepted', 'cancelled']) });
  });
});
