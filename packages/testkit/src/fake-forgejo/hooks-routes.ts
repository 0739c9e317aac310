import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiScope, AppEnv } from './env.js';
import { apiError, bindingError, notFound, paramId, readJson } from './errors.js';
import {
  editedEvents,
  eventFlags,
  HOOK_TYPES,
  hookJson,
  isValidHookUrl,
  orderedEvents,
} from './hook-model.js';
import { listOptions, paginate, setTotalCountHeader } from './pagination.js';
import type { HookRecord, State } from './state.js';

/** `CreateHookOption` (only binding-level checks here; the rest mirrors `checkCreateHookOption`). */
export const CreateHookOption = z.object({
  type: z.string().optional(),
  config: z.record(z.string(), z.string()).optional(),
  events: z.array(z.string()).optional(),
  branch_filter: z.string().optional(),
  authorization_header: z.string().optional(),
  active: z.boolean().optional(),
});
export type CreateHookOption = z.infer<typeof CreateHookOption>;

/** `EditHookOption`. */
export const EditHookOption = z.object({
  config: z.record(z.string(), z.string()).optional(),
  events: z.array(z.string()).optional(),
  branch_filter: z.string().optional(),
  authorization_header: z.string().optional(),
  active: z.boolean().optional(),
});
export type EditHookOption = z.infer<typeof EditHookOption>;

/** Whether `hook` is addressed by `scope` (admin sees system and default hooks by id). */
function hookInScope(hook: HookRecord, scope: ApiScope): boolean {
  switch (scope.kind) {
    case 'admin':
      return hook.kind === 'system' || hook.kind === 'default';
    case 'repo':
      return hook.kind === 'repo' && hook.repoId === scope.repoId;
    default:
      return hook.kind === 'owner' && hook.ownerId === scope.ownerId;
  }
}

/** The `hooks` endpoints, mounted under every scope prefix. */
export function hooksRoutes(state: State): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/hooks', (c) => {
    const scope = c.get('scope');
    if (scope.kind === 'admin') {
      // GetSystemWebhooks: only system hooks, never the default (template) hooks; not paginated.
      return c.json([...state.hooks.values()].filter((h) => h.kind === 'system').map(hookJson));
    }
    const hooks = [...state.hooks.values()].filter((h) => hookInScope(h, scope));
    setTotalCountHeader(c, hooks.length);
    return c.json(paginate(hooks, listOptions(c)).map(hookJson));
  });

  app.post('/hooks', async (c) => {
    const parsed = CreateHookOption.safeParse(await readJson(c));
    if (!parsed.success) return apiError(c, 422, '[]: Json: invalid request body');
    const form = parsed.data;
    if (!form.type) return bindingError(c, 'Type');
    if (!form.config || Object.keys(form.config).length === 0) return bindingError(c, 'Config');
    const config = form.config;
    if (!(HOOK_TYPES as readonly string[]).includes(form.type)) {
      return apiError(c, 422, `Invalid hook type: ${form.type}`);
    }
    for (const name of ['url', 'content_type']) {
      if (config[name] === undefined) return apiError(c, 422, `Missing config option: ${name}`);
    }
    const contentType = config.content_type;
    if (contentType !== 'json' && contentType !== 'form') return apiError(c, 422, 'Invalid content type');
    const url = config.url ?? '';
    if (!isValidHookUrl(url)) return apiError(c, 422, 'Invalid url');
    const scope = c.get('scope');
    let system = false;
    const isSystem = config.is_system_webhook ?? '';
    if (isSystem !== '') {
      const value = parseGoBool(isSystem);
      if (value === null) return apiError(c, 422, 'Invalid is_system_webhook value');
      system = value;
    }
    const now = state.now();
    const hook: HookRecord = {
      id: state.nextId('hook'),
      kind:
        scope.kind === 'admin' ? (system ? 'system' : 'default') : scope.kind === 'repo' ? 'repo' : 'owner',
      ownerId: scope.ownerId,
      repoId: scope.repoId,
      type: form.type,
      url,
      contentType,
      secret: config.secret ?? '',
      events: orderedEvents(eventFlags(form.events && form.events.length > 0 ? form.events : ['push'])),
      // CreateHookOption.Active defaults to false: API-created hooks are inactive unless asked.
      active: form.active ?? false,
      branchFilter: form.branch_filter ?? '',
      authorizationHeader: form.authorization_header ?? '',
      createdAt: now,
      updatedAt: now,
    };
    state.hooks.set(hook.id, hook);
    state.log(
      `hook ${hook.id} created (${hook.kind}, active=${hook.active}, events=${hook.events.join(',')})`,
    );
    return c.json(hookJson(hook), 201);
  });

  app.get('/hooks/:id', (c) => {
    const hook = state.hooks.get(paramId(c.req.param('id')));
    if (!hook || !hookInScope(hook, c.get('scope'))) return notFound(c);
    return c.json(hookJson(hook));
  });

  app.patch('/hooks/:id', async (c) => {
    const hook = state.hooks.get(paramId(c.req.param('id')));
    if (!hook || !hookInScope(hook, c.get('scope'))) return notFound(c);
    const parsed = EditHookOption.safeParse(await readJson(c));
    if (!parsed.success) return apiError(c, 422, '[]: Json: invalid request body');
    const form = parsed.data;
    const url = form.config?.url;
    if (url !== undefined && !isValidHookUrl(url)) return apiError(c, 422, 'Invalid url');
    const contentType = form.config?.content_type;
    if (contentType !== undefined && contentType !== 'json' && contentType !== 'form') {
      return apiError(c, 422, 'Invalid content type');
    }
    // v15 editHook: only url and content_type of config are applied (not secret); events are recomputed
    // (empty -> ["push"]) EXCEPT the action_run_* and package flags, which only creation sets; branch_filter
    // and authorization_header are overwritten even when absent; active only when given.
    if (url !== undefined) hook.url = url;
    if (contentType !== undefined) hook.contentType = contentType;
    hook.events = editedEvents(hook.events, form.events ?? []);
    hook.branchFilter = form.branch_filter ?? '';
    hook.authorizationHeader = form.authorization_header ?? '';
    if (form.active !== undefined) hook.active = form.active;
    hook.updatedAt = state.now();
    return c.json(hookJson(hook));
  });

  app.delete('/hooks/:id', (c) => {
    const id = paramId(c.req.param('id'));
    const hook = state.hooks.get(id);
    if (!hook || !hookInScope(hook, c.get('scope'))) return notFound(c);
    state.hooks.delete(id);
    return c.body(null, 204);
  });

  return app;
}

/** Go `strconv.ParseBool`. */
function parseGoBool(s: string): boolean | null {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return null;
}
