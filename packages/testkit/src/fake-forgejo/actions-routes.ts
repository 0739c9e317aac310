import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { ApiScope, AppEnv } from './env.js';
import { apiError, bindingError, paramId, readJson } from './errors.js';
import { jobIsListed, jobJson, jobMatchesLabels, parseLabelsQuery } from './job-model.js';
import { formBool, listOptions, paginate, setLinkHeader, setTotalCountHeader } from './pagination.js';
import {
  editableInScope,
  listedInScope,
  registerRunner,
  runnerJson,
  softDeleteRunner,
  visibleInScope,
} from './runner-model.js';
import type { JobRecord, State } from './state.js';

/** `RegisterRunnerOptions`; there is no labels field: runners declare labels themselves. */
export const RegisterRunnerOptions = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  ephemeral: z.boolean().optional(),
});
export type RegisterRunnerOptions = z.infer<typeof RegisterRunnerOptions>;

function jobInScope(job: JobRecord, scope: ApiScope): boolean {
  if (scope.repoId !== 0) return job.repoId === scope.repoId;
  if (scope.ownerId !== 0) return job.ownerId === scope.ownerId;
  return true;
}

/** `GET .../actions/runners/jobs`: waiting + running jobs of the scope and below; `null` when empty. */
export function listJobsHandler(state: State) {
  return (c: Context<AppEnv>) => {
    const labels = parseLabelsQuery(c.req.queries('labels'));
    const scope = c.get('scope');
    const jobs = [...state.jobs.values()]
      .filter((j) => jobIsListed(j) && jobInScope(j, scope) && jobMatchesLabels(j, labels))
      .sort((a, b) => a.id - b.id)
      .map(jobJson);
    return c.json(jobs.length === 0 ? null : jobs);
  };
}

/** The `actions/runners` endpoints, mounted under every scope prefix. */
export function actionsRoutes(state: State): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/actions/runners/jobs', listJobsHandler(state));

  app.get('/actions/runners', (c) => {
    const scope = c.get('scope');
    const opts = listOptions(c);
    const now = state.now();
    const visible = formBool(c.req.query('visible'));
    const runners = [...state.runners.values()]
      .filter((r) => listedInScope(state, r, scope, visible))
      // Default sort: last_online DESC.
      .sort((a, b) => (b.lastOnline ?? 0) - (a.lastOnline ?? 0) || a.id - b.id);
    setLinkHeader(c, runners.length, opts.pageSize);
    setTotalCountHeader(c, runners.length);
    return c.json(paginate(runners, opts).map((r) => runnerJson(r, now)));
  });

  app.post('/actions/runners', async (c) => {
    const parsed = RegisterRunnerOptions.safeParse(await readJson(c));
    if (!parsed.success) return apiError(c, 422, '[]: Json: invalid request body');
    if (!parsed.data.name) return bindingError(c, 'Name');
    const scope = c.get('scope');
    const runner = registerRunner(
      state,
      { ownerId: scope.ownerId, repoId: scope.repoId },
      {
        name: parsed.data.name,
        description: parsed.data.description ?? '',
        ephemeral: parsed.data.ephemeral ?? false,
      },
    );
    return c.json({ id: runner.id, uuid: runner.uuid, token: runner.token }, 201);
  });

  app.get('/actions/runners/:id', (c) => {
    const id = paramId(c.req.param('id'));
    const runner = state.runners.get(id);
    if (!runner || !visibleInScope(state, runner, c.get('scope'))) {
      return apiError(c, 404, `runner with id ${id}: resource does not exist`);
    }
    return c.json(runnerJson(runner, state.now()));
  });

  app.delete('/actions/runners/:id', (c) => {
    const id = paramId(c.req.param('id'));
    const scope = c.get('scope');
    const runner = state.runners.get(id);
    if (!runner || !visibleInScope(state, runner, scope)) {
      return apiError(c, 404, `runner with id ${id}: resource does not exist`);
    }
    if (!editableInScope(runner, scope)) return apiError(c, 404, 'No permission to delete this runner');
    softDeleteRunner(state, runner, 'DELETE via API');
    return c.body(null, 204);
  });

  return app;
}
