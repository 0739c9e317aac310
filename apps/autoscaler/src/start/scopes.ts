import type { AutoscalerConfig } from '@forgejo-fleet/config';
import { createForgejoClient, type ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Clock } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import { classifyError } from '../poll/classify-error.js';
import { resolveIdentity } from '../scopes/identity.js';
import type { ScopeState } from '../scopes/scope-state.js';

/** One configured scope with its token read. */
export type ScopeEntry = AutoscalerConfig['scopes'][number];

/** The Forgejo client of one scope, with the scope's own token. */
export function defaultForgejoFor(
  config: AutoscalerConfig,
  clock: Clock,
  random: () => number,
): (entry: ScopeEntry) => ForgejoClient {
  return (entry) =>
    createForgejoClient({
      apiUrl: config.forgejo.api_url,
      token: entry.token.reveal(),
      timeoutMs: config.forgejo.timeout,
      // The poller backs off by itself; one quick retry covers a blip.
      retry: { attempts: 2 },
      sleep: (ms, s) => clock.sleep(ms, s),
      random,
      userAgent: 'forgejo-fleet-autoscaler',
    });
}

/** Every configured scope's state, not yet resolved. */
export function buildScopes(
  config: AutoscalerConfig,
  forgejoFor: (entry: ScopeEntry) => ForgejoClient,
): ScopeState[] {
  return config.scopes.map((entry) => ({
    key: entry.key,
    scope: entry.scope,
    client: forgejoFor(entry),
    manageHook: entry.webhook.manage,
    identity: undefined,
    health: { status: 'starting' },
  }));
}

/**
 * Every scope's ids before the first poll, so the first dispatches already go to the most specific
 * scope. A failure is logged; that scope's poller resolves it later.
 */
export async function resolveScopes(
  scopes: readonly ScopeState[],
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(
    scopes.map(async (state) => {
      try {
        state.identity = await resolveIdentity(state.client, state.scope, signal);
      } catch (error) {
        const { kind, message } = classifyError(error);
        log.warn({ scope: state.key, kind, err: message }, 'cannot resolve scope; its poller retries');
      }
    }),
  );
}
