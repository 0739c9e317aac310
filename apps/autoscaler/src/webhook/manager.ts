import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { classifyError } from '../poll/classify-error.js';
import type { ScopeState } from '../scopes/scope-state.js';
import { desiredHook, HOOK_EVENTS, type HookAction, hookUrl, planHooks } from './hook-plan.js';

export interface HookManagerDeps {
  readonly scopes: readonly ScopeState[];
  readonly publicUrl: string;
  readonly secret: string;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/**
 * Keeps exactly one hook of ours in every scope with `webhook.manage: true`, and none in the
 * others. Safe to run any number of times: it only acts on a difference, and only on our hooks.
 */
export function createHookManager(deps: HookManagerDeps) {
  async function apply(state: ScopeState, step: HookAction, signal: AbortSignal | undefined): Promise<void> {
    const opts = signal ? { signal } : {};
    const body = desiredHook(state.scope, deps.publicUrl, deps.secret);
    switch (step.action) {
      case 'create':
        await state.client.createHook(state.scope, body, opts);
        break;
      case 'delete':
        await state.client.deleteHook(state.scope, step.id, opts);
        break;
      case 'recreate':
        // Delete first: two hooks of ours, even briefly, would be two deliveries per event.
        await state.client.deleteHook(state.scope, step.id, opts);
        await state.client.createHook(state.scope, body, opts);
        break;
      case 'edit':
        await state.client.editHook(
          state.scope,
          step.id,
          {
            config: { url: hookUrl(deps.publicUrl, deps.secret), content_type: 'json' },
            events: [...HOOK_EVENTS],
            active: true,
          },
          opts,
        );
        break;
    }
    deps.metrics.hookChanges.inc({ scope: state.key, action: step.action });
    deps.log.info(
      { scope: state.key, action: step.action, ...('id' in step ? { hookId: step.id, why: step.why } : {}) },
      'webhook changed',
    );
  }

  async function ensureScope(state: ScopeState, signal?: AbortSignal): Promise<'ok' | 'failed'> {
    try {
      const hooks = await state.client.listHooks(state.scope, signal ? { signal } : {});
      const plan = planHooks({
        hooks,
        manage: state.manageHook,
        publicUrl: deps.publicUrl,
        secret: deps.secret,
      });
      for (const step of plan) await apply(state, step, signal);
      return 'ok';
    } catch (error) {
      if (signal?.aborted) return 'failed';
      const { kind, message } = classifyError(error);
      // Without management the token may lawfully lack hook permissions: cleaning up is best effort.
      const level = state.manageHook ? 'warn' : 'debug';
      deps.log[level]({ scope: state.key, kind, err: message }, 'webhook management failed');
      return 'failed';
    }
  }

  return {
    ensureScope,
    /** One pass over every scope, one at a time. */
    async ensureAll(signal?: AbortSignal): Promise<Record<string, 'ok' | 'failed'>> {
      const result: Record<string, 'ok' | 'failed'> = {};
      for (const state of deps.scopes) {
        if (signal?.aborted) break;
        result[state.key] = await ensureScope(state, signal);
      }
      return result;
    },
  };
}

export type HookManager = ReturnType<typeof createHookManager>;
