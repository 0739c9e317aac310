import type { z } from 'zod';
import {
  BudgetList,
  DecisionList,
  Dispatch,
  DispatchList,
  DispatchRequest,
  ErrorBody,
  ListDecisionsQuery,
  ListDispatchesQuery,
  ReconcileRequest,
  RouteList,
} from './schemas.js';

/** The schemas the OpenAPI document names under `components.schemas`, by that name. */
export const COMPONENTS = {
  DispatchRequest,
  Dispatch,
  DispatchList,
  RouteList,
  BudgetList,
  DecisionList,
  ReconcileRequest,
  Error: ErrorBody,
} as const satisfies Record<string, z.ZodType>;
export type ComponentName = keyof typeof COMPONENTS;

export type HttpMethod = 'get' | 'post' | 'delete';
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503;

export interface Answer {
  readonly description: string;
  /** A JSON body of this component; `text` for `text/plain`; neither for a body left undescribed. */
  readonly json?: ComponentName;
  readonly text?: true;
}

/**
 * One endpoint: what the dispatcher registers its handler under and what the OpenAPI document
 * says about it. The dispatcher validates with `query`/`body`, so the document shows exactly what
 * the server checks.
 */
export interface RouteDef {
  readonly method: HttpMethod;
  /** OpenAPI path template (`/v1/dispatches/{id}`); `honoPath` turns it into hono's form. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  /** `client`: a client bearer token; `open`: none, or the ops token (see the description). */
  readonly auth: 'client' | 'open';
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: z.ZodObject;
  readonly body?: { readonly json: ComponentName; readonly required: boolean };
  readonly answers: Readonly<Partial<Record<200 | 202, Answer>>>;
  readonly errors: readonly ErrorStatus[];
  /** Another description of an error status for this endpoint than `ERROR_TEXT`'s. */
  readonly errorText?: Readonly<Partial<Record<ErrorStatus, string>>>;
}

const ID = 'a dispatch id';
const OPS_NOTE = 'needs the ops token when one is configured; 404 here when ops.listen is set';

/** Every endpoint of the dispatcher's API listener, in the order the document lists them. */
export const ROUTES = {
  healthz: {
    method: 'get',
    path: '/healthz',
    summary: 'process up',
    auth: 'open',
    answers: { 200: { description: 'up' } },
    errors: [],
  },
  readyz: {
    method: 'get',
    path: '/readyz',
    summary: 'store open, config loaded, Forgejo reachable (each check "ok" or "failing")',
    description: OPS_NOTE,
    auth: 'open',
    answers: { 200: { description: 'ready' } },
    errors: [401, 503],
    errorText: { 401: 'ops token missing or wrong', 503: 'not ready' },
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    summary: 'this document',
    auth: 'open',
    answers: { 200: { description: 'OpenAPI 3' } },
    errors: [],
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (no ids or secrets in labels)',
    description: OPS_NOTE,
    auth: 'open',
    answers: { 200: { description: 'Prometheus text format' } },
    errors: [401],
    errorText: { 401: 'ops token missing or wrong' },
  },
  dispatch: {
    method: 'post',
    path: '/v1/dispatch',
    summary: 'give one job a VM (idempotent per job handle)',
    auth: 'client',
    body: { json: 'DispatchRequest', required: true },
    answers: {
      200: { description: 'this handle was dispatched before', json: 'Dispatch' },
      202: { description: 'accepted; the VM is being created', json: 'Dispatch' },
    },
    errors: [400, 401, 403, 409, 413, 422, 429, 503],
  },
  listDispatches: {
    method: 'get',
    path: '/v1/dispatches',
    summary: "list the client's scopes' dispatches, newest first",
    auth: 'client',
    query: ListDispatchesQuery,
    answers: { 200: { description: 'a page', json: 'DispatchList' } },
    errors: [400, 401],
  },
  getDispatch: {
    method: 'get',
    path: '/v1/dispatches/{id}',
    summary: 'one dispatch',
    auth: 'client',
    params: { id: ID },
    answers: { 200: { description: 'the dispatch', json: 'Dispatch' } },
    errors: [401, 404],
  },
  cancelDispatch: {
    method: 'delete',
    path: '/v1/dispatches/{id}',
    summary: 'cancel: delete the VM and the runner registration',
    auth: 'client',
    params: { id: ID },
    answers: { 200: { description: 'cancelled', json: 'Dispatch' } },
    errors: [401, 404, 409],
  },
  why: {
    method: 'get',
    path: '/v1/dispatches/{id}/why',
    summary: 'why a job waits: route, credentials, limits, budgets, attempts, timers, next step',
    auth: 'client',
    params: { id: 'a dispatch id or a job handle' },
    answers: { 200: { description: 'readable text', text: true } },
    errors: [401, 404],
  },
  decisions: {
    method: 'get',
    path: '/v1/decisions',
    summary:
      "the decision log of the client's scopes, oldest first: every create, delete, refusal, fallback and adoption (scope-less, fleet-wide ones only for * clients)",
    auth: 'client',
    query: ListDecisionsQuery,
    answers: { 200: { description: 'decisions', json: 'DecisionList' } },
    errors: [400, 401],
  },
  reconcile: {
    method: 'post',
    path: '/v1/reconcile',
    summary:
      'ask for a reconcile pass soon (e.g. a run finished); * clients only; coalesced, at most one pass per reconcile.min_gap',
    auth: 'client',
    body: { json: 'ReconcileRequest', required: false },
    answers: { 202: { description: 'scheduled' } },
    errors: [400, 401, 403],
  },
  routes: {
    method: 'get',
    path: '/v1/routes',
    summary: 'configured routes',
    auth: 'client',
    answers: { 200: { description: 'routes', json: 'RouteList' } },
    errors: [401],
  },
  budgets: {
    method: 'get',
    path: '/v1/budgets',
    summary:
      "today's daily budgets (VM-minutes, money) used vs their caps: the client's scopes' caps; route caps span tenants, so * clients only",
    auth: 'client',
    answers: { 200: { description: 'budgets', json: 'BudgetList' } },
    errors: [401],
  },
} as const satisfies Record<string, RouteDef>;
export type RouteName = keyof typeof ROUTES;

/** What each error status means on this API, unless a route says otherwise. */
export const ERROR_TEXT: Readonly<Record<ErrorStatus, string>> = {
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

/**
 * The route's path as hono registers it (`{id}` → `:id`), relative to `mount` when the handler
 * sits in a sub-app mounted there (`/v1`).
 */
export function honoPath(route: Pick<RouteDef, 'path'>, mount = ''): string {
  if (mount !== '' && !route.path.startsWith(`${mount}/`)) {
    throw new Error(`route ${route.path} is not under ${mount}`);
  }
  return route.path.slice(mount.length).replaceAll(/\{(\w+)\}/g, ':$1');
}

/** The route's URL path with its parameters filled in (each encoded as one path segment). */
export function fillPath(
  route: Pick<RouteDef, 'path'>,
  params: Readonly<Record<string, string>> = {},
): string {
  return route.path.replaceAll(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`route ${route.path}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
}
