import { parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';
import { RECONCILE } from './reconcile/context.js';
import { reviveDelay } from './reconcile/revive.js';

/** `why` must answer even when Forgejo hangs: the queue look-up gets this long. */
const QUEUE_LOOKUP_MS = 5_000;

/**
 * What happens next to a failed dispatch: the same rules the revive step applies (reconcile/revive.ts),
 * read against the job's queue right now, so an operator learns whether and when it gets another VM.
 */
export async function explainRevive(
  deps: ServiceDeps,
  record: DispatchRecord,
  at: (ms: number) => string,
): Promise<string> {
  const failedFor = 'the dispatch failed (see the error and decisions above)';
  if (record.handle === null) return `${failedFor}; a manual dispatch is never revived: dispatch again`;
  if (!deps.config.routes.some((r) => r.name === record.route)) {
    return `${failedFor}; not revived: route ${record.route} is no longer configured`;
  }
  if (!deps.config.scopes.some((s) => s.key === record.scope)) {
    return `${failedFor}; not revived: scope ${record.scope} is no longer configured`;
  }
  const now = deps.clock.now();
  if (now - record.updated_at >= RECONCILE.reviveWindowMs) {
    return `${failedFor}; not revived: it failed more than ${RECONCILE.reviveWindowMs / 3_600_000} h ago (rerun the job in Forgejo)`;
  }
  const when = at(Math.max(now, record.updated_at + reviveDelay(record)));
  const status = await jobStatus(deps, record.scope, record.handle);
  if (status === 'waiting') {
    return `${failedFor}; its job still waits, so the reconciler revives it at its first pass from ${when}, within the route's limits and budgets`;
  }
  if (status === 'running') return `${failedFor}; not revived: its job is running on another runner`;
  if (status === 'gone')
    return `${failedFor}; not revived: its job is no longer in the queue (it ended or was cancelled)`;
  return `${failedFor}; the job queue could not be read now (${status.error}); if its job still waits, the reconciler revives it from ${when}`;
}

async function jobStatus(
  deps: ServiceDeps,
  scope: string,
  handle: string,
): Promise<'waiting' | 'running' | 'gone' | { error: string }> {
  try {
    const jobs = await deps.forgejoFor(scope).listJobs(parseScope(scope), {
      signal: AbortSignal.timeout(QUEUE_LOOKUP_MS),
    });
    const job = jobs.find((j) => j.handle === handle);
    if (job === undefined) return 'gone';
    return job.status === 'running' ? 'running' : 'waiting';
  } catch (error) {
    return { error: errorSummary(error) };
  }
}
