import { DECISION_KINDS, DISPATCH_STATES } from '@forgejo-fleet/store';
import { z } from 'zod';

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

export const DispatchRequest = z.strictObject({
  scope: z.string().min(1).max(300),
  labels: z.array(LabelName).min(1, 'expected at least one label').max(32),
  job: DispatchJob.optional(),
});
export type DispatchRequest = z.infer<typeof DispatchRequest>;

// The API speaks the store's states; one list keeps them from drifting apart.
export const DISPATCH_STATE_VALUES = DISPATCH_STATES;

export const ListDispatchesQuery = z.strictObject({
  state: z.enum(DISPATCH_STATE_VALUES).optional(),
  scope: z.string().min(1).optional(),
  route: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

export const Dispatch = z.object({
  id: z.string(),
  handle: z.string().nullable(),
  scope: z.string(),
  labels: z.array(z.string()),
  route: z.string(),
  client: z.string(),
  state: z.enum(DISPATCH_STATE_VALUES),
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
    z.object({ state: z.enum(DISPATCH_STATE_VALUES), at: z.string(), reason: z.string().optional() }),
  ),
});

export const DispatchList = z.object({ items: z.array(Dispatch), next_cursor: z.string().nullable() });

export const ListDecisionsQuery = z.strictObject({
  dispatch_id: z.string().min(1).max(64).optional(),
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

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
export const DecisionList = z.object({ items: z.array(DecisionView) });

export const ReconcileRequest = z.strictObject({ reason: z.string().max(200).optional() });

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
export const RouteList = z.object({ routes: z.array(RouteView) });

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

/** Turns zod issues into `details` of a 400: one entry per field path. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
  return issues.map((issue) => ({
    path: issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replaceAll('.[', '['),
    message: issue.message,
  }));
}

/** A warm VM's agent asking for its job. */
export const AgentPoll = z.strictObject({
  vm_id: z.string().regex(/^w[a-z2-7]{12}$/, 'expected a warm VM id'),
});
