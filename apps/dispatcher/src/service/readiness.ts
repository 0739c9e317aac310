import { ForgejoApiError, ForgejoNetworkError, parseScope } from '@forgejo-fleet/forgejo';
import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';
import { leadershipOf, type Role } from './leadership.js';

/**
 * The store takes a write (a probe, so a full disk is "not ready") and Forgejo answers.
 * Checks are fixed words: upstream error text is logged, never answered (readiness is often
 * served without auth).
 */
export async function checkReady(
  deps: ServiceDeps,
  accepting: boolean,
  signal?: AbortSignal,
): Promise<{ ok: boolean; checks: Record<string, string>; role: Role }> {
  const checks: Record<string, string> = {};
  checks.store = (await deps.store.ping()) ? 'ok' : 'unavailable';
  if (checks.store !== 'ok') deps.log.warn('store write probe failed: check free disk space and store.path');
  if (!accepting) checks.shutdown = 'shutting down';
  const first = deps.config.scopes[0];
  if (first) {
    try {
      await deps.forgejoFor(first.key).listJobs(parseScope(first.key), signal ? { signal } : {});
      checks.forgejo = 'ok';
    } catch (error) {
      checks.forgejo = readinessWord(error);
      deps.log.warn({ scope: first.key, err: errorSummary(error) }, 'readiness: Forgejo check failed');
    }
  }
  // A follower is as ready as the leader: every replica serves the API and the agent endpoint.
  return { ok: Object.values(checks).every((v) => v === 'ok'), checks, role: leadershipOf(deps).role() };
}

/**
 * One fixed word for a failed Forgejo readiness call. Forgejo's (or a proxy's) error text may
 * name internal hosts or echo request details, and `/readyz` may be served without auth, so the
 * answer says only what kind of failure it was; the log line carries the detail.
 */
export function readinessWord(error: unknown): 'unauthorized' | 'unavailable' | 'unreachable' | 'error' {
  if (error instanceof ForgejoApiError) {
    if (error.status === 401 || error.status === 403) return 'unauthorized';
    return 'unavailable';
  }
  if (error instanceof ForgejoNetworkError) return 'unreachable';
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return 'unreachable';
  return 'error';
}
