import type { Database } from 'better-sqlite3';
import { LIVE_STATES_SQL } from './statements.js';
import type { PruneResult } from './types.js';

/**
 * Deletes what has aged out: ended dispatches (their transitions go with them, ON DELETE
 * CASCADE), decisions, and retired warm VMs, each last touched before `before`; at most `limit`
 * rows of each per call, so one call holds the write lock briefly. A live dispatch and the
 * decisions of a live dispatch are never touched.
 */
export function retention(db: Database): (before: number, limit: number) => PruneResult {
  const dispatches = db.prepare(`
    DELETE FROM dispatches WHERE id IN (
      SELECT id FROM dispatches
       WHERE updated_at < @before AND state IN ('finished', 'failed', 'cancelled')
       ORDER BY updated_at LIMIT @limit)`);
  const decisions = db.prepare(`
    DELETE FROM decisions WHERE seq IN (
      SELECT seq FROM decisions
       WHERE at < @before
         AND (dispatch_id IS NULL
              OR dispatch_id NOT IN (SELECT id FROM dispatches WHERE state IN ${LIVE_STATES_SQL}))
       ORDER BY at LIMIT @limit)`);
  const warm = db.prepare(`
    DELETE FROM warm_vms WHERE id IN (
      SELECT id FROM warm_vms WHERE state = 'retired' AND updated_at < @before LIMIT @limit)`);
  const prune = db.transaction(
    (before: number, limit: number): PruneResult => ({
      dispatches: dispatches.run({ before, limit }).changes,
      decisions: decisions.run({ before, limit }).changes,
      warm_vms: warm.run({ before, limit }).changes,
    }),
  );
  return (before, limit) => prune.immediate(before, limit);
}
