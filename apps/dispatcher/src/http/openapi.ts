import { z } from 'zod';
import {
  DecisionList,
  Dispatch,
  DispatchList,
  DispatchRequest,
  ErrorBody,
  ReconcileRequest,
  RouteList,
} from './schemas.js';

function schema(s: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(s, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}

const errors = (codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(code),
      {
        description: ERROR_TEXT[code] ?? 'error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid request; details name the fields',
  401: 'missing or unknown bearer token',
  403: 'the client may not act for this scope (or, on /v1/reconcile, is not a * client)',
  404: 'no such dispatch, or one of a scope the client may not see (the same answer)',
  409: 'conflicts with an existing dispatch',
  413: 'body over 64 KiB',
  422: 'no route takes these labels',
  429: 'a limit is full; see Retry-After',
  503: 'every provider of the route is failing; see Retry-After',
};

const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

/** The OpenAPI 3 document, generated from the zod schemas that validate the requests. */
export function openApiDocument(): Record<string, unknown> {
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  return {
    openapi: '3.0.3',
    info: { title: 'forgejo-fleet dispatcher', version: '1' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        DispatchRequest: schema(DispatchRequest),
        Dispatch: schema(Dispatch),
        DispatchList: schema(DispatchList),
        RouteList: schema(RouteList),
        DecisionList: schema(DecisionList),
        ReconcileRequest: schema(ReconcileRequest),
        Error: schema(ErrorBody),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { security: [], summary: 'process up', responses: { 200: { description: 'up' } } } },
      '/readyz': {
        get: {
          security: [],
          summary: 'store open, config loaded, Forgejo reachable (each check "ok" or "failing")',
          description: 'needs the ops token when one is configured; 404 here when ops.listen is set',
          responses: {
            200: { description: 'ready' },
            401: { description: 'ops token missing or wrong' },
            503: { description: 'not ready' },
          },
        },
      },
      '/openapi.json': {
        get: { security: [], summary: 'this document', responses: { 200: { description: 'OpenAPI 3' } } },
      },
      '/metrics': {
        get: {
          security: [],
          summary: 'Prometheus metrics (no ids or secrets in labels)',
          description: 'needs the ops token when one is configured; 404 here when ops.listen is set',
          responses: {
            200: { description: 'Prometheus text format' },
            401: { description: 'ops token missing or wrong' },
          },
        },
      },
      '/v1/dispatch': {
        post: {
          summary: 'give one job a VM (idempotent per job handle)',
          requestBody: { required: true, ...json('DispatchRequest') },
          responses: {
            200: { description: 'this handle was dispatched before', ...json('Dispatch') },
            202: { description: 'accepted; the VM is being created', ...json('Dispatch') },
            ...errors([400, 401, 403, 409, 413, 422, 429, 503]),
          },
        },
      },
      '/v1/dispatches': {
        get: {
          summary: "list the client's scopes' dispatches, newest first",
          parameters: [
            { name: 'state', in: 'query', schema: { type: 'string' } },
            { name: 'scope', in: 'query', schema: { type: 'string' } },
            { name: 'route', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' } },
          ],
          responses: { 200: { description: 'a page', ...json('DispatchList') }, ...errors([400, 401]) },
        },
      },
      '/v1/dispatches/{id}': {
        get: {
          summary: 'one dispatch',
          parameters: [idParam],
          responses: { 200: { description: 'the dispatch', ...json('Dispatch') }, ...errors([401, 404]) },
        },
        delete: {
          summary: 'cancel: delete the VM and the runner registration',
          parameters: [idParam],
          responses: {
            200: { description: 'cancelled', ...json('Dispatch') },
            ...errors([401, 404, 409]),
          },
        },
      },
      '/v1/dispatches/{id}/why': {
        get: {
          summary: 'why a job waits: route, credentials, limits, budgets, attempts, timers, next step',
          parameters: [{ ...idParam, description: 'a dispatch id or a job handle' }],
          responses: {
            200: { description: 'readable text', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...errors([401, 404]),
          },
        },
      },
      '/v1/decisions': {
        get: {
          summary:
            "the decision log of the client's scopes, oldest first: every create, delete, refusal, fallback and adoption (scope-less, fleet-wide ones only for * clients)",
          parameters: [
            { name: 'dispatch_id', in: 'query', schema: { type: 'string' } },
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { 200: { description: 'decisions', ...json('DecisionList') }, ...errors([400, 401]) },
        },
      },
      '/v1/reconcile': {
        post: {
          summary:
            'ask for a reconcile pass soon (e.g. a run finished); * clients only; coalesced, at most one pass per reconcile.min_gap',
          requestBody: { required: false, ...json('ReconcileRequest') },
          responses: { 202: { description: 'scheduled' }, ...errors([400, 401, 403]) },
        },
      },
      '/v1/routes': {
        get: {
          summary: 'configured routes',
          responses: { 200: { description: 'routes', ...json('RouteList') }, ...errors([401]) },
        },
      },
    },
  };
}
