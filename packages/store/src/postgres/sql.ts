import type pg from 'pg';
import { BEFORE_BOOTING_SQL, LIVE_STATES_SQL } from '../statements.js';

/**
 * The same columns as SQLite's SELECT_RECORD, shaped for the shared row mapping (row.ts): JSON
 * columns read back as text, the history folded into one JSON array, bigint times as numbers.
 */
export const SELECT_RECORD = `
  SELECT d.id, d.handle, d.scope, d.labels::text AS labels, d.route, d.client, d.job::text AS job,
         d.state, d.runner::text AS runner, d.provider, d.instance_id, d.error, d.machine,
         d.hourly_price, d.retries, d.created_at, d.updated_at,
         (SELECT coalesce(json_agg(json_build_object('state', t.state, 'at', t.at, 'reason', t.reason)
                                   ORDER BY t.seq), '[]'::json)::text
            FROM transitions t WHERE t.dispatch_id = d.id) AS transitions
    FROM dispatches d`;

/** The record's columns as the functions of migration 3 return them (dispatch-functions.ts). */
const RECORD_COLUMNS = `id, handle, scope, labels, route, client, job, state, runner, provider, instance_id,
         error, machine, hourly_price, retries, created_at, updated_at, transitions`;

export const SQL = {
  // One round trip: lock, handle check, count, insert, history row, read back (migration 3).
  insertDispatch: `
    SELECT outcome, live_total, live_route, live_route_scope, ${RECORD_COLUMNS}
      FROM fleet_insert_dispatch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
  // One round trip: fence check, compare-and-set under the row lock, history row, read back. A
  // $n boolean flag says whether a patch field is present (null clears it, absent keeps it).
  transitionDispatch: `
    SELECT outcome, ${RECORD_COLUMNS}
      FROM fleet_transition_dispatch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                                     $15, $16, $17, $18, $19, $20, $21, $22)`,
  getById: `${SELECT_RECORD} WHERE d.id = $1`,
  getByHandle: `${SELECT_RECORD} WHERE d.handle = $1`,
  listLive: `${SELECT_RECORD} WHERE d.state IN ${LIVE_STATES_SQL} ORDER BY d.created_at, d.id`,
  touch: `
    UPDATE dispatches SET updated_at = greatest(updated_at, $2)
     WHERE id = ANY($1::text[]) AND state IN ${BEFORE_BOOTING_SQL}`,
  countLive: `
    SELECT route, scope, count(*)::integer AS n FROM dispatches
     WHERE state IN ${LIVE_STATES_SQL}
     GROUP BY route, scope`,
  appendDecision: `
    INSERT INTO decisions (at, kind, dispatch_id, route, scope, provider, choice, attempt,
                           error_class, cost, reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    RETURNING seq, at, kind, dispatch_id, route, scope, provider, choice, attempt, error_class, cost,
              reason`,
  // As SQLite's usage statement (statements.ts): VM time from the first `booting` until the end
  // (or now), clipped to [since, now), plus warm VMs from creation until claimed or retired.
  usage: `
    WITH spans AS (
      SELECT d.route, d.scope, d.hourly_price,
             (SELECT min(t.at) FROM transitions t
               WHERE t.dispatch_id = d.id AND t.state = 'booting') AS start,
             (SELECT min(t.at) FROM transitions t
               WHERE t.dispatch_id = d.id AND t.state IN ('finished', 'failed', 'cancelled')) AS stop
        FROM dispatches d
       WHERE d.updated_at >= $1 OR d.state IN ${LIVE_STATES_SQL}
      UNION ALL
      SELECT w.route, '' AS scope, w.hourly_price, w.created_at AS start,
             coalesce(w.claimed_at, CASE WHEN w.state = 'retired' THEN w.updated_at END) AS stop
        FROM warm_vms w
       WHERE w.instance_id IS NOT NULL AND (w.updated_at >= $1 OR w.state != 'retired')
    ), clipped AS (
      SELECT route, scope, hourly_price,
             greatest(0, least(coalesce(stop, $2), $2) - greatest(start, $1)) AS ms
        FROM spans WHERE start IS NOT NULL
    )
    SELECT route, scope, sum(ms)::bigint AS vm_ms,
           sum(ms * coalesce(hourly_price, 0) / 3600000.0)::double precision AS cost
      FROM clipped GROUP BY route, scope`,
  // Retention (retention.ts has the rules): ended dispatches, decisions not of a live dispatch,
  // retired warm VMs; oldest first, at most $2 of each.
  pruneDispatches: `
    DELETE FROM dispatches WHERE id IN (
      SELECT id FROM dispatches
       WHERE updated_at < $1 AND state IN ('finished', 'failed', 'cancelled')
       ORDER BY updated_at LIMIT $2)`,
  pruneDecisions: `
    DELETE FROM decisions WHERE seq IN (
      SELECT seq FROM decisions
       WHERE at < $1
         AND (dispatch_id IS NULL
              OR dispatch_id NOT IN (SELECT id FROM dispatches WHERE state IN ${LIVE_STATES_SQL}))
       ORDER BY at LIMIT $2)`,
  pruneWarm: `
    DELETE FROM warm_vms WHERE id IN (
      SELECT id FROM warm_vms WHERE state = 'retired' AND updated_at < $1 LIMIT $2)`,
  probe: 'INSERT INTO probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at',
  ensureStoreId: "INSERT INTO meta (key, value) VALUES ('store_id', $1) ON CONFLICT (key) DO NOTHING",
  storeId: "SELECT value FROM meta WHERE key = 'store_id'",
} as const;

/**
 * The statements of the hot path, run as node-postgres named queries: each connection parses and
 * plans one once, then only binds. A named statement's result columns are fixed when prepared,
 * so these list their columns instead of `*` (a newer replica's migration adding a column must
 * not break an older one's prepared statements during a rolling upgrade). Behind a pooler,
 * named statements need session pooling or PgBouncer ≥ 1.21 with max_prepared_statements set.
 */
const PREPARED = [
  'getById',
  'getByHandle',
  'countLive',
  'insertDispatch',
  'transitionDispatch',
  'appendDecision',
] as const;

export type PreparedStatement = (typeof PREPARED)[number];

/** A named query of SQL[statement]: one name per text, so a connection never sees a name twice. */
export function prepared(statement: PreparedStatement, values: unknown[]): pg.QueryConfig {
  return { name: `fleet_${statement}`, text: SQL[statement], values };
}
