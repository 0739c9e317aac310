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

export const SQL = {
  // No conflict target: a clash on id or on handle writes nothing, and store.ts tells them apart.
  insert: `
    INSERT INTO dispatches (id, handle, scope, labels, route, client, job, state, created_at, updated_at)
    VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, 'accepted', $8, $8)
    ON CONFLICT DO NOTHING
    RETURNING id`,
  // Runs in the transaction that wrote or locked the dispatch row, so max(seq) cannot race.
  appendTransition: `
    INSERT INTO transitions (dispatch_id, seq, state, at, reason)
    SELECT $1, coalesce(max(seq), -1) + 1, $2, $3, $4 FROM transitions WHERE dispatch_id = $1`,
  // The compare-and-set: the row lock makes a racing transition wait, then re-check the state.
  // A $n::boolean flag says whether a patch field is present (null clears it, absent keeps it).
  transition: `
    UPDATE dispatches
       SET state = $3,
           updated_at = greatest(updated_at, $4),
           runner = CASE WHEN $5::boolean THEN $6::jsonb ELSE runner END,
           provider = CASE WHEN $7::boolean THEN $8 ELSE provider END,
           instance_id = CASE WHEN $9::boolean THEN $10 ELSE instance_id END,
           error = CASE WHEN $11::boolean THEN $12 ELSE error END,
           machine = CASE WHEN $13::boolean THEN $14 ELSE machine END,
           hourly_price = CASE WHEN $15::boolean THEN $16::double precision ELSE hourly_price END,
           retries = CASE WHEN $17::boolean THEN $18::integer ELSE retries END
     WHERE id = $1 AND state = ANY($2::text[])
    RETURNING id`,
  getById: `${SELECT_RECORD} WHERE d.id = $1`,
  getByHandle: `${SELECT_RECORD} WHERE d.handle = $1`,
  listLive: `${SELECT_RECORD} WHERE d.state IN ${LIVE_STATES_SQL} ORDER BY d.created_at, d.id`,
  touch: `
    UPDATE dispatches SET updated_at = greatest(updated_at, $2)
     WHERE id = ANY($1::text[]) AND state IN ${BEFORE_BOOTING_SQL}`,
  // Limited inserts (store.ts ACCEPT_LOCK_CLASS): one at a time per schema, until commit.
  acceptLock: 'SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))',
  countLive: `
    SELECT route, scope, count(*)::integer AS n FROM dispatches
     WHERE state IN ${LIVE_STATES_SQL}
     GROUP BY route, scope`,
  appendDecision: `
    INSERT INTO decisions (at, kind, dispatch_id, route, scope, provider, choice, attempt,
                           error_class, cost, reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    RETURNING *`,
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
