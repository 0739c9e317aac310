import { z } from 'zod';

/**
 * The dispatch API's wire contract: every body and query the dispatcher validates and every answer
 * it sends. The dispatcher validates with these, the client parses answers with them and the
 * OpenAPI document is generated from them, so the three cannot disagree.
 */

/**
 * A dispatch's states as the API shows them. The store keeps its own list (it must not load this
 * package); the dispatcher checks at compile time that the two are the same set.
 */
export const DISPATCH_STATES = [
  'accepted',
  'registering',
  'provisioning',
  'booting',
  'running',
  'finished',
  'failed',
  'cancelled',
] as const;
export type DispatchState = (typeof DISPATCH_STATES)[number];

/** Decision log kinds as the API shows them (checked against the store's like the states). */
export const DECISION_KINDS = [
  'create',
  'assign',
  'create-failed',
  'fallback',
  'delete',
  'refusal',
  'adoption',
  'timeout',
  'cancel',
  'retry',
  'reuse',
] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

const LabelName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.-]+$/, 'expected a label name (letters, digits, ".", "_", "-")');

const Uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a UUID');

/** The Forgejo job a dispatch serves, as `GET …/actions/runners/jobs` describes it. */
export const DispatchJob = z.strictObject({
  handle: Uuid,
  id: z.number().int().positive(),
  attempt: z.number().int().positive(),
  repo_id: z.number().int().nonnegative(),
  owner_id: z.number().int().nonnegative(),
  name: z.string().min(1).max(255),
});
export type DispatchJob = z.infer<typeof DispatchJob>;

/** `POST /v1/dispatch`: give one job (or, without `job`, one manual request) a VM. */
export const DispatchRequest = z.strictObject({
  scope: z.string().min(1).max(300),
  labels: z.array(LabelName).min(1, 'expected at least one label').max(32),
  job: DispatchJob.optional(),
});
export type DispatchRequest = z.infer<typeof DispatchRequest>;

/** `GET /v1/dispatches` query. */
export const ListDispatchesQuery = z.strictObject({
  state: z.enum(DISPATCH_STATES).optional(),
  scope: z.string().min(1).optional(),
  route: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(200).optional(),
});
/** As a caller writes it: every field optional, the defaults are the server's. */
export type ListDispatchesQuery = Partial<z.output<typeof ListDispatchesQuery>>;

export const Dispatch = z.object({
  id: z.string(),
  handle: z.string().nullable(),
  scope: z.string(),
  labels: z.array(z.string()),
  route: z.string(),
  client: z.string(),
  state: z.enum(DISPATCH_STATES),
  job: DispatchJob.nullable(),
  runner: z.object({ id: z.number(), uuid: z.string(), name: z.string() }).nullable(),
  provider: z.string().nullable(),
  instance_id: z.string().nullable(),
  error: z.string().nullable(),
  machine: z.string().nullable().describe('the provider machine choice the VM was made with'),
  retries: z.number().int().describe('fresh VMs given after pickup timeouts'),
  created_at: z.string().describe('RFC 3339, UTC'),
  updated_at: z.string(),
  transitions: z.array(
    z.object({ state: z.enum(DISPATCH_STATES), at: z.string(), reason: z.string().optional() }),
  ),
});
export type Dispatch = z.infer<typeof Dispatch>;

/**
 * What a caller of `POST /v1/dispatch` needs from the answer. Parsing only these fields lets a
 * dispatch that was accepted count as accepted even when the dispatcher is a version ahead or
 * behind on the other fields (a "failed" here would only send the job again).
 */
export const DispatchAck = z.object({
  id: Dispatch.shape.id.min(1),
  route: Dispatch.shape.route.optional(),
});
export type DispatchAck = z.infer<typeof DispatchAck>;

export const DispatchList = z.object({ items: z.array(Dispatch), next_cursor: z.string().nullable() });
export type DispatchList = z.infer<typeof DispatchList>;

/** `GET /v1/decisions` query. */
export const ListDecisionsQuery = z.strictObject({
  dispatch_id: z.string().min(1).max(64).optional(),
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ListDecisionsQuery = Partial<z.output<typeof ListDecisionsQuery>>;

export const DecisionView = z.object({
  seq: z.number().int(),
  at: z.string(),
  kind: z.enum(DECISION_KINDS),
  reason: z.string(),
  dispatch_id: z.string().nullable(),
  route: z.string().nullable(),
  scope: z.string().nullable(),
  provider: z.string().nullable(),
  choice: z.string().nullable(),
  attempt: z.number().int().nullable(),
  error_class: z.string().nullable(),
  cost: z.number().nullable().describe('estimated money per hour of the machine choice'),
});
export type DecisionView = z.infer<typeof DecisionView>;

export const DecisionList = z.object({ items: z.array(DecisionView) });
export type DecisionList = z.infer<typeof DecisionList>;

/** `POST /v1/reconcile` (the body is optional). */
export const ReconcileRequest = z.strictObject({ reason: z.string().max(200).optional() });
export type ReconcileRequest = z.infer<typeof ReconcileRequest>;

export const ReconcileAccepted = z.object({ scheduled: z.literal(true) });

export const RouteView = z.object({
  name: z.string(),
  labels: z.array(z.string()),
  runner_labels: z.array(z.string()),
  providers: z.array(z.string()),
  limits: z.object({ max_vms: z.number(), max_vms_per_scope: z.number().nullable() }),
  live_vms: z.number().describe("live VMs of the caller's scopes on this route (every scope for a * client)"),
  warm: z
    .object({
      target: z.number().describe('idle warm VMs wanted now (min_idle or the schedule window)'),
      idle: z.number().nullable().describe('fleet-wide: null unless the client has scope *'),
      booting: z.number().nullable().describe('fleet-wide: null unless the client has scope *'),
    })
    .nullable(),
});
export type RouteView = z.infer<typeof RouteView>;

export const RouteList = z.object({ routes: z.array(RouteView) });
export type RouteList = z.infer<typeof RouteList>;

/** The part of a route the autoscaler matches jobs with; other fields are not its business. */
export const RouteInfo = RouteView.pick({ name: true, labels: true });
export type RouteInfo = z.infer<typeof RouteInfo>;
export const RouteInfoList = z.object({ routes: z.array(RouteInfo) });

/** One daily budget (a route's or a scope's cap) and today's use of it (UTC day). */
export const BudgetView = z.object({
  cap: z.string().describe('the config path of the cap, e.g. scopes.org:acme.limits.money_per_day'),
  used: z.number().describe("used today: VM-minutes, or money in the providers' price unit"),
  limit: z.number(),
  unit: z.enum(['minutes', 'money']),
  resets_at: z.string().describe('the next UTC midnight (RFC 3339), when use starts again from 0'),
});
export type BudgetView = z.infer<typeof BudgetView>;

export const BudgetList = z.object({
  items: z
    .array(BudgetView)
    .describe("the client's scopes' budgets; route budgets span every tenant, so only * clients see them"),
});
export type BudgetList = z.infer<typeof BudgetList>;

/** Every error answer: `{ "error": { "code", "message", "details"? } }`. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** One entry of a 400's `details`: the field path (`job.handle`, `labels[0]`) and what is wrong. */
export const FieldError = z.object({ path: z.string(), message: z.string() });
export type FieldError = z.infer<typeof FieldError>;

export const Health = z.object({ status: z.literal('ok') });
export const Readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  /** leader: this replica runs the reconciler and warm refill (HA); every replica serves the API. */
  role: z.enum(['leader', 'follower']),
  checks: z.record(z.string(), z.enum(['ok', 'failing'])),
});
