import { timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Lifecycle } from './lifecycle.js';
import {
  CONNECT_CODE_STATUS,
  type ConnectCode,
  DeclareRequest,
  FetchSingleTaskRequest,
  FetchTaskRequest,
  RPC_METHODS,
  type RpcMethod,
  UpdateLogRequest,
  UpdateTaskRequest,
} from './rpc-protocol.js';
import { type JobRecord, type RunnerRecord, repoFullName, type State, type TaskRecord } from './state.js';

export function connectError(c: Context, code: ConnectCode, message: string): Response {
  return c.json({ code, message }, CONNECT_CODE_STATUS[code] as ContentfulStatusCode);
}

function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** The runner interceptor: `x-runner-uuid` + `x-runner-token` of a live (not soft-deleted) runner. */
function authenticateRunner(state: State, c: Context): RunnerRecord | null {
  const uuid = c.req.header('x-runner-uuid') ?? '';
  const token = c.req.header('x-runner-token') ?? '';
  for (const runner of state.runners.values()) {
    if (!runner.deleted && runner.uuid === uuid) return sameSecret(runner.token, token) ? runner : null;
  }
  return null;
}

function taskMessage(state: State, task: TaskRecord, job: JobRecord): Record<string, unknown> {
  const repo = state.repos.get(job.repoId);
  const workflow = `on: push\njobs:\n  ${job.name}:\n    runs-on: ${JSON.stringify(job.runsOn ?? [])}\n    steps:\n      - run: echo fake\n`;
  return {
    id: String(task.id),
    workflowPayload: Buffer.from(workflow).toString('base64'),
    context: {
      repository: repo ? repoFullName(state, repo) : job.repo,
      job: job.name,
      run_id: String(job.id),
      run_number: String(job.id),
      run_attempt: String(job.attempt),
      server_url: state.baseUrl,
    },
    secrets: {},
    vars: {},
    needs: {},
  };
}

function runnerMessage(runner: RunnerRecord): Record<string, unknown> {
  return {
    id: String(runner.id),
    uuid: runner.uuid,
    name: runner.name,
    version: runner.version,
    labels: runner.labels ?? [],
    ephemeral: runner.ephemeral,
  };
}

async function parse<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T> | Response> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    return connectError(c, 'invalid_argument', 'invalid JSON body');
  }
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : connectError(c, 'invalid_argument', parsed.error.message);
}

/** `runner.v1.RunnerService` over connect JSON, mounted at `RUNNER_SERVICE_PATH`. */
export function runnerRpcRoutes(state: State, lifecycle: Lifecycle): Hono {
  const app = new Hono();

  app.post('/:method', async (c) => {
    const method = c.req.param('method') as RpcMethod;
    if (!(RPC_METHODS as readonly string[]).includes(method)) {
      return connectError(c, 'unimplemented', `runner.v1.RunnerService/${method} is not implemented`);
    }
    const contentType = c.req.header('content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      return c.text(`unsupported content type ${JSON.stringify(contentType)}`, 415);
    }
    const runner = authenticateRunner(state, c);
    if (!runner) return connectError(c, 'unauthenticated', 'unregistered runner');
    const now = state.now();
    runner.lastOnline = now;
    if (method === 'UpdateTask' || method === 'UpdateLog') runner.lastActive = now;

    switch (method) {
      case 'Declare': {
        const req = await parse(c, DeclareRequest);
        if (req instanceof Response) return req;
        runner.version = req.version;
        runner.labels = [...req.labels];
        state.log(`runner ${runner.id} declared ${req.version} [${req.labels.join(',')}]`);
        return c.json({ runner: runnerMessage(runner) });
      }
      case 'FetchTask':
      case 'FetchSingleTask': {
        const req =
          method === 'FetchTask' ? await parse(c, FetchTaskRequest) : await parse(c, FetchSingleTaskRequest);
        if (req instanceof Response) return req;
        const handle = 'handle' in req ? String(req.handle) : undefined;
        // Only try to pick when the runner's view is stale; runners send 0.
        const picked = req.tasksVersion !== state.tasksVersion ? lifecycle.pickTask(runner, handle) : null;
        const version = String(state.tasksVersion);
        if (!picked) return c.json({ tasksVersion: version });
        return c.json({ task: taskMessage(state, picked.task, picked.job), tasksVersion: version });
      }
      case 'UpdateTask': {
        const req = await parse(c, UpdateTaskRequest);
        if (req instanceof Response) return req;
        try {
          const result = lifecycle.reportResult(runner, req.state.id, req.state.result);
          return c.json({ state: { id: String(req.state.id), result }, sentOutputs: [] });
        } catch (err) {
          return connectError(c, 'not_found', err instanceof Error ? err.message : String(err));
        }
      }
      case 'UpdateLog': {
        const req = await parse(c, UpdateLogRequest);
        if (req instanceof Response) return req;
        return c.json({ ackIndex: String(req.index + req.rows.length) });
      }
    }
  });

  return app;
}
