import type { RunJob } from '@forgejo-fleet/forgejo';
import type { Logger } from 'pino';
import { ExpiringSet } from '../expiring-set.js';
import type { SkipReason } from '../metrics.js';

export interface SkipLogOptions {
  readonly log: Logger;
  readonly now: () => number;
  /** How long a logged skip is remembered after the job was last skipped. */
  readonly ttlMs: number;
  /** At most this many jobs are remembered; the oldest go first. */
  readonly max: number;
}

/**
 * Logs each skipped job once, naming it, instead of once per look: a skipped job is looked at again
 * every route refresh while it waits, and the counter alone never says which job an operator should
 * fix. A job is logged again only when the reason changes. Memory is bounded: each entry lives
 * `ttlMs` past the job's last skip (so a job that left the queue is forgotten) and at most `max`.
 */
export function createSkipLog(opts: SkipLogOptions) {
  const logged = new ExpiringSet<SkipReason>({ max: opts.max, now: opts.now });

  return {
    record(job: RunJob, scope: string, reason: SkipReason, detail: string): void {
      const before = logged.get(job.handle);
      // Set again even when already logged: a job still waiting keeps its entry alive.
      logged.set(job.handle, opts.ttlMs, reason);
      if (before === reason) return;
      opts.log.info(
        { jobId: job.id, handle: job.handle, job: job.name, scope, labels: job.runs_on, reason, detail },
        'job skipped',
      );
    },
    get size(): number {
      return logged.size;
    },
  };
}

export type SkipLog = ReturnType<typeof createSkipLog>;
