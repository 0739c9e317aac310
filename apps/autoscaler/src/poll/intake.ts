import type { RunJob } from '@forgejo-fleet/forgejo';
import type { Clock } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import type { DispatcherClient, DispatchOutcome } from '../dispatch/client.js';
import type { RouteCache } from '../dispatch/route-cache.js';
import type { AutoscalerEvent } from '../events.js';
import { ExpiringSet } from '../expiring-set.js';
import type { Metrics, SkipReason } from '../metrics.js';
import { owningScope } from '../scopes/owning-scope.js';
import type { ScopeState } from '../scopes/scope-state.js';
import { createSkipLog } from './skip-log.js';

/**
 * How long a dispatched handle is remembered, and how many at most. Within that time the
 * autoscaler does not resend it every tick; after it, a handle still waiting is sent again and the
 * dispatcher's idempotency answers 200 with the existing dispatch (the real guarantee).
 */
export const HANDLE_MEMORY = { ttlMs: 2 * 60 * 60_000, max: 100_000 } as const;

export interface IntakeDeps {
  readonly scopes: readonly ScopeState[];
  readonly dispatcher: DispatcherClient;
  readonly routes: RouteCache;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** How long a skipped job stays skipped before it is looked at again (routes may change). */
  readonly recheckMs: number;
  readonly onEvent: (event: AutoscalerEvent) => void;
  /** Aborted on shutdown: requests in flight stop, nothing new starts. */
  readonly signal: AbortSignal;
}

/**
 * Turns waiting jobs from any poller into dispatch requests: exactly one per handle at a time,
 * for the most specific configured scope containing the job, only when a route can take it.
 */
export function createIntake(deps: IntakeDeps) {
  const now = () => deps.clock.now();
  const done = new ExpiringSet<true>({ max: HANDLE_MEMORY.max, now });
  const skipped = new ExpiringSet<SkipReason>({ max: HANDLE_MEMORY.max, now });
  const seen = new ExpiringSet<true>({ max: HANDLE_MEMORY.max, now });
  const inFlight = new Map<string, Promise<void>>();
  const skipLog = createSkipLog({ log: deps.log, now, ttlMs: HANDLE_MEMORY.ttlMs, max: HANDLE_MEMORY.max });

  function skip(job: RunJob, scope: string, reason: SkipReason, detail: string): void {
    skipped.set(job.handle, deps.recheckMs, reason);
    deps.metrics.skipped.inc({ reason });
    skipLog.record(job, scope, reason, detail);
    deps.onEvent({ type: 'skipped', at: now(), handle: job.handle, name: job.name, scope, reason, detail });
  }

  async function send(job: RunJob, scope: string): Promise<void> {
    const log = deps.log.child({ handle: job.handle, scope });
    const outcome: DispatchOutcome = await deps.dispatcher.dispatch(
      {
        scope,
        labels: job.runs_on,
        job: {
          handle: job.handle,
          id: job.id,
          attempt: job.attempt,
          repo_id: job.repo_id,
          owner_id: job.owner_id,
          name: job.name,
        },
      },
      deps.signal,
    );
    switch (outcome.kind) {
      case 'created':
      case 'existing':
        done.set(job.handle, HANDLE_MEMORY.ttlMs, true);
        deps.metrics.dispatched.inc({ scope, result: outcome.kind });
        log.info({ dispatchId: outcome.id, route: outcome.route, result: outcome.kind }, 'dispatched');
        deps.onEvent({
          type: 'dispatched',
          at: now(),
          handle: job.handle,
          name: job.name,
          scope,
          result: outcome.kind,
          dispatchId: outcome.id,
          route: outcome.route,
        });
        return;
      case 'no_route':
        log.info({ err: outcome.message }, 'dispatcher has no route; refreshing routes');
        void deps.routes.refresh(deps.signal);
        return skip(job, scope, 'no_route', outcome.message);
      case 'conflict':
        // The dispatcher already holds this handle under another scope or route: resending never helps.
        done.set(job.handle, HANDLE_MEMORY.ttlMs, true);
        log.warn({ err: outcome.message }, 'dispatcher refused the handle as a conflict');
        return skip(job, scope, 'conflict', outcome.message);
      case 'rejected':
        log.warn({ status: outcome.status, err: outcome.message }, 'dispatcher rejected the job');
        return skip(job, scope, 'rejected', outcome.message);
      case 'failed':
        if (deps.signal.aborted) return;
        deps.metrics.skipped.inc({ reason: 'dispatch_failed' });
        log.warn({ err: outcome.message }, 'dispatch failed; the next poll retries');
        return;
    }
  }

  return {
    /** Hands the waiting jobs one poller saw to the dispatcher; returns at once. */
    offer(seenIn: ScopeState, waiting: readonly RunJob[]): void {
      if (deps.signal.aborted) return;
      for (const job of waiting) {
        if (done.has(job.handle) || inFlight.has(job.handle) || skipped.has(job.handle)) continue;
        const owner = owningScope(deps.scopes, job, seenIn);
        if (!seen.has(job.handle)) {
          seen.set(job.handle, HANDLE_MEMORY.ttlMs, true);
          deps.metrics.jobsSeen.inc({ scope: owner.key });
          deps.onEvent({ type: 'seen', at: now(), handle: job.handle, name: job.name, scope: owner.key });
        }
        if (job.runs_on.length === 0) {
          skip(job, owner.key, 'no_labels', 'the job has no runs-on labels');
          continue;
        }
        const route = deps.routes.match(job.runs_on);
        if (route.kind === 'none') {
          skip(job, owner.key, 'no_route', `no route takes labels [${job.runs_on.join(', ')}]`);
          continue;
        }
        const work = send(job, owner.key)
          .catch((error: unknown) => {
            deps.log.error({ handle: job.handle, err: (error as Error).message }, 'dispatch crashed');
          })
          .finally(() => inFlight.delete(job.handle));
        inFlight.set(job.handle, work);
      }
    },
    get inFlight(): number {
      return inFlight.size;
    },
    /** Waits for the requests in flight (shutdown, tests). */
    async drain(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight.values()]);
    },
  };
}

export type Intake = ReturnType<typeof createIntake>;
