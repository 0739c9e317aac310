import type { Database, Statement } from 'better-sqlite3';
import { SELECT_RECORD } from './row.js';

/**
 * The live states spelled as SQL, verbatim as in the partial index of migration 1: SQLite uses a
 * partial index only when the query repeats its predicate. A test keeps this equal to LIVE_STATES.
 */
export const LIVE_STATES_SQL = `('accepted', 'registering', 'provisioning', 'booting', 'running')`;

/** The states a replica works through before a VM exists: the ones a heartbeat (touch) marks. */
export const BEFORE_BOOTING_SQL = `('accepted', 'registering', 'provisioning')`;

/** The statements of the hot path, prepared once per store (preparing costs more than running). */
export interface Statements {
  readonly insert: Statement;
  readonly appendTransition: Statement;
  readonly transition: Statement;
  readonly getById: Statement;
  readonly getByHandle: Statement;
  readonly listLive: Statement;
  readonly listLiveVersions: Statement;
  readonly getManyById: Statement;
  readonly countLive: Statement;
  readonly touch: Statement;
  readonly ping: Statement;
  readonly appendDecision: Statement;
  readonly getDecision: Statement;
  readonly usage: Statement;
}

export function prepareStatements(db: Database): Statements {
  return {
    // Only the handle conflict is absorbed; a clash on id still raises (see sqlite.ts insert).
    insert: db.prepare(`
      INSERT INTO dispatches (id, handle, scope, labels, route, client, job, state, runner,
                              provider, instance_id, error, created_at, updated_at)
      VALUES (@id, @handle, @scope, @labels, @route, @client, @job, 'accepted', NULL,
              NULL, NULL, NULL, @at, @at)
      ON CONFLICT (handle) DO NOTHING`),
    // seq is the next number in this dispatch's history: order never depends on clocks agreeing.
    appendTransition: db.prepare(`
      INSERT INTO transitions (dispatch_id, seq, state, at, reason)
      SELECT @id, coalesce(max(seq), -1) + 1, @state, @at, @reason
        FROM transitions WHERE dispatch_id = @id`),
    // The compare-and-set. One statement whatever the patch holds: a set_* flag says whether the
    // field is present (null clears it, absent keeps it). updated_at never goes backwards.
    transition: db.prepare(`
      UPDATE dispatches
         SET state = @to,
             updated_at = max(updated_at, @at),
             runner = CASE WHEN @set_runner THEN @runner ELSE runner END,
             provider = CASE WHEN @set_provider THEN @provider ELSE provider END,
             instance_id = CASE WHEN @set_instance_id THEN @instance_id ELSE instance_id END,
             error = CASE WHEN @set_error THEN @error ELSE error END,
             machine = CASE WHEN @set_machine THEN @machine ELSE machine END,
             hourly_price = CASE WHEN @set_hourly_price THEN @hourly_price ELSE hourly_price END,
             retries = CASE WHEN @set_retries THEN @retries ELSE retries END
       WHERE id = @id AND state IN (SELECT value FROM json_each(@from))`),
    getById: db.prepare(`${SELECT_RECORD} WHERE d.id = ?`),
    getByHandle: db.prepare(`${SELECT_RECORD} WHERE d.handle = ?`),
    // Oldest first: the reconciler looks at the dispatches that have waited longest first.
    listLive: db.prepare(`${SELECT_RECORD} WHERE d.state IN ${LIVE_STATES_SQL} ORDER BY d.created_at, d.id`),
    // Every write appends a transition, so (id, last seq) names a version of a record: the
    // reconciler's snapshot reads only this, and the full rows of records that changed.
    listLiveVersions: db.prepare(`
      SELECT d.id, (SELECT max(t.seq) FROM transitions t WHERE t.dispatch_id = d.id) AS seq, d.updated_at
        FROM dispatches d WHERE d.state IN ${LIVE_STATES_SQL} ORDER BY d.created_at, d.id`),
    touch: db.prepare(`
      UPDATE dispatches SET updated_at = max(updated_at, @at)
       WHERE id IN (SELECT value FROM json_each(@ids)) AND state IN ${BEFORE_BOOTING_SQL}`),
    getManyById: db.prepare(`${SELECT_RECORD} WHERE d.id IN (SELECT value FROM json_each(?))`),
    // Kept by triggers (migration 6), so reading it costs the same at 10 or 10,000 live.
    countLive: db.prepare('SELECT route, scope, n FROM live_counts WHERE n > 0'),
    ping: db.prepare('SELECT 1'),
    appendDecision: db.prepare(`
      INSERT INTO decisions (at, kind, dispatch_id, route, scope, provider, choice, attempt,
                             error_class, cost, reason)
      VALUES (@at, @kind, @dispatch_id, @route, @scope, @provider, @choice, @attempt,
              @error_class, @cost, @reason)`),
    getDecision: db.prepare('SELECT * FROM decisions WHERE seq = ?'),
    // A VM costs from its first `booting` until the dispatch ended (or now); only the part inside
    // the window counts. Dispatches untouched since before the window cannot overlap it.
    usage: db.prepare(`
      WITH spans AS (
        SELECT d.route, d.scope, d.hourly_price,
               (SELECT min(t.at) FROM transitions t
                 WHERE t.dispatch_id = d.id AND t.state = 'booting') AS start,
               (SELECT min(t.at) FROM transitions t
                 WHERE t.dispatch_id = d.id AND t.state IN ('finished', 'failed', 'cancelled')) AS stop
          FROM dispatches d
         WHERE d.updated_at >= @since OR d.state IN ${LIVE_STATES_SQL}
        UNION ALL
        -- A warm VM costs its route from creation until a dispatch claims it (then the dispatch
        -- pays) or it is retired; it belongs to no scope yet.
        SELECT w.route, '' AS scope, w.hourly_price, w.created_at AS start,
               coalesce(w.claimed_at, CASE WHEN w.state = 'retired' THEN w.updated_at END) AS stop
          FROM warm_vms w
         WHERE w.instance_id IS NOT NULL AND (w.updated_at >= @since OR w.state != 'retired')
      ), clipped AS (
        SELECT route, scope, hourly_price,
               max(0, min(coalesce(stop, @now), @now) - max(start, @since)) AS ms
          FROM spans WHERE start IS NOT NULL
      )
      SELECT route, scope, sum(ms) AS vm_ms,
             sum(ms * coalesce(hourly_price, 0) / 3600000.0) AS cost
        FROM clipped GROUP BY route, scope`),
  };
}
