import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.js';
import { fillPath, honoPath, ROUTES } from './routes.js';

describe('route definitions', () => {
  it.each([
    ['/v1/dispatches/{id}/why', '', '/v1/dispatches/:id/why'],
    ['/v1/dispatches/{id}', '/v1', '/dispatches/:id'],
    ['/healthz', '', '/healthz'],
  ])('%s under "%s" is %s for hono', (path, mount, expected) => {
    expect(honoPath({ path }, mount)).toBe(expected);
  });

  it('refuses a mount the route is not under', () => {
    expect(() => honoPath({ path: '/healthz' }, '/v1')).toThrow('/healthz is not under /v1');
  });

  it('fills parameters as single path segments and names a missing one', () => {
    expect(fillPath(ROUTES.why, { id: '../x y' })).toBe('/v1/dispatches/..%2Fx%20y/why');
    expect(() => fillPath(ROUTES.why)).toThrow('no value for {id}');
  });

  it('generates one operation per route, each reference resolving to a component', () => {
    const doc = openApiDocument() as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops));
    const refs = [...JSON.stringify(doc).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]);

    expect(operations).toHaveLength(Object.keys(ROUTES).length);
    expect(refs.filter((name) => !(name !== undefined && name in doc.components.schemas))).toEqual([]);
  });
});
