/**
 * The runner protocol as the fake speaks it: connect-RPC unary calls with JSON bodies (protobuf JSON
 * mapping: camelCase fields, int64 as decimal strings, default values omitted) at
 * `POST {base}/api/actions/runner.v1.RunnerService/{Method}` with headers `x-runner-uuid` and
 * `x-runner-token`. The fake Forgejo serves these shapes and the fake runner sends them; the real
 * `runner.v1` messages have more fields, which both sides simply leave out.
 *
 * Errors are connect errors: HTTP status per code and a body `{"code": "...", "message": "..."}`
 * (`unauthenticated` -> 401, `invalid_argument` -> 400, `not_found` -> 404, `internal` -> 500, ...).
 */
import { z } from 'zod';

export const RUNNER_SERVICE_PATH = '/api/actions/runner.v1.RunnerService';

export const RPC_METHODS = ['Declare', 'FetchTask', 'FetchSingleTask', 'UpdateTask', 'UpdateLog'] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];

/** int64 in protobuf JSON: a decimal string, but numbers are accepted too. */
const Int64 = z.union([z.string().regex(/^-?\d+$/), z.number().int()]).transform(Number);

/** `DeclareRequest`: the runner's version and its label NAMES (no `:scheme:arg` part). */
export const DeclareRequest = z.object({
  version: z.string().default(''),
  labels: z.array(z.string()).default([]),
});
export type DeclareRequest = z.input<typeof DeclareRequest>;

/** `Runner` message as returned by `Declare`. */
export const RunnerMessage = z.object({
  id: Int64,
  uuid: z.string(),
  name: z.string().default(''),
  version: z.string().default(''),
  labels: z.array(z.string()).default([]),
  ephemeral: z.boolean().default(false),
});
export type RunnerMessage = z.infer<typeof RunnerMessage>;

export const DeclareResponse = z.object({ runner: RunnerMessage });
export type DeclareResponse = z.infer<typeof DeclareResponse>;

/** `FetchTaskRequest`: the runner sends `tasksVersion` 0, so the server always tries to pick a task. */
export const FetchTaskRequest = z.object({ tasksVersion: Int64.default(0) });
export type FetchTaskRequest = z.input<typeof FetchTaskRequest>;

/** `FetchSingleTaskRequest` (Forgejo >= 15): only the job attempt with this handle may be assigned. */
export const FetchSingleTaskRequest = z.object({ handle: z.string(), tasksVersion: Int64.default(0) });
export type FetchSingleTaskRequest = z.input<typeof FetchSingleTaskRequest>;

/** `Task`: `context` carries the github-style context (repository, job, run_id, run_attempt, ...). */
export const Task = z.object({
  id: Int64,
  workflowPayload: z.string().optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.string()).optional(),
  vars: z.record(z.string(), z.string()).optional(),
  needs: z.record(z.string(), z.unknown()).optional(),
});
export type Task = z.infer<typeof Task>;

/** `FetchTaskResponse` / `FetchSingleTaskResponse`: no `task` key means no task. */
export const FetchTaskResponse = z.object({ task: Task.optional(), tasksVersion: Int64.optional() });
export type FetchTaskResponse = z.infer<typeof FetchTaskResponse>;

export const TaskResult = z.enum([
  'RESULT_UNSPECIFIED',
  'RESULT_SUCCESS',
  'RESULT_FAILURE',
  'RESULT_CANCELLED',
  'RESULT_SKIPPED',
]);
export type TaskResult = z.infer<typeof TaskResult>;

/** `UpdateTaskRequest`: a result other than `RESULT_UNSPECIFIED` is final. */
export const UpdateTaskRequest = z.object({
  state: z.object({
    id: Int64,
    result: TaskResult.default('RESULT_UNSPECIFIED'),
    startedAt: z.string().optional(),
    stoppedAt: z.string().optional(),
  }),
  outputs: z.record(z.string(), z.string()).optional(),
});
export type UpdateTaskRequest = z.input<typeof UpdateTaskRequest>;

/** `UpdateTaskResponse`: the server's view of the task; `RESULT_CANCELLED` tells the runner to stop. */
export const UpdateTaskResponse = z.object({
  state: z.object({ id: Int64, result: TaskResult.default('RESULT_UNSPECIFIED') }),
  sentOutputs: z.array(z.string()).optional(),
});
export type UpdateTaskResponse = z.infer<typeof UpdateTaskResponse>;

export const UpdateLogRequest = z.object({
  taskId: Int64,
  index: Int64.default(0),
  rows: z.array(z.object({ time: z.string().optional(), content: z.string() })).default([]),
  noMore: z.boolean().default(false),
});
export type UpdateLogRequest = z.input<typeof UpdateLogRequest>;

export const UpdateLogResponse = z.object({ ackIndex: Int64.default(0) });
export type UpdateLogResponse = z.infer<typeof UpdateLogResponse>;

/** A connect error body. */
export const ConnectError = z.object({ code: z.string(), message: z.string().default('') });
export type ConnectError = z.infer<typeof ConnectError>;

/** Connect error codes and their HTTP statuses (connect protocol mapping). */
export const CONNECT_CODE_STATUS = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 404,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
} as const;
export type ConnectCode = keyof typeof CONNECT_CODE_STATUS;

/** The connect code a bare HTTP status most likely stands for (used by fault injection). */
export function connectCodeForStatus(status: number): ConnectCode {
  const byStatus: Record<number, ConnectCode> = {
    400: 'invalid_argument',
    401: 'unauthenticated',
    403: 'permission_denied',
    404: 'not_found',
    409: 'aborted',
    429: 'resource_exhausted',
    499: 'canceled',
    503: 'unavailable',
    504: 'deadline_exceeded',
  };
  return byStatus[status] ?? (status >= 500 ? 'internal' : 'unknown');
}
