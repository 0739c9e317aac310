import { LIVE_STATES_SQL } from '../statements.js';

/**
 * Migration 3: the hot writes as server-side functions, so each is one network round trip
 * instead of one per statement inside BEGIN…COMMIT (an insert with limits was eight, a transition
 * five). The statements inside are the ones store.ts ran before, in the same order and in the
 * same transaction (the caller's statement), so nothing about locking or durability changed:
 *
 * - `fleet_insert_dispatch`: with limits, the accept advisory lock (class 0x66666163, "ffac", on
 *   the schema's hash, as before) is taken first; PL/pgSQL takes a new snapshot per statement in
 *   READ COMMITTED, so the handle check and the live count after it see every limited insert
 *   committed before the lock was granted. Then the insert, its first history row, the row read
 *   back. The caller names the exceeded cap from the counts returned (accept-limits.ts).
 * - `fleet_transition_dispatch`: `synchronous_commit = off` for exactly this transaction when
 *   lazy (set_config local: it lasts until this statement's implicit commit, which reads it);
 *   the lease row checked and share-locked first when fenced (postgres/lease.ts `holds`); then
 *   the compare-and-set under the row lock, the history row, the row read back.
 *
 * Shipped text: never edit, add a migration instead. `#variable_conflict use_column`: the result
 * columns share names with table columns, and in SQL a name always means the column.
 */
export const DISPATCH_FUNCTIONS_V3 = `
  -- SELECT_RECORD of sql.ts for one id, as set-returning function the two below end with.
  CREATE FUNCTION fleet_dispatch_row(p_id text)
  RETURNS TABLE (id text, handle text, scope text, labels text, route text, client text, job text,
                 state text, runner text, provider text, instance_id text, error text,
                 machine text, hourly_price double precision, retries integer,
                 created_at bigint, updated_at bigint, transitions text)
  LANGUAGE sql STABLE AS $fn$
    SELECT d.id, d.handle, d.scope, d.labels::text, d.route, d.client, d.job::text, d.state,
           d.runner::text, d.provider, d.instance_id, d.error, d.machine, d.hourly_price,
           d.retries, d.created_at, d.updated_at,
           (SELECT coalesce(json_agg(json_build_object('state', t.state, 'at', t.at, 'reason', t.reason)
                                     ORDER BY t.seq), '[]'::json)::text
              FROM transitions t WHERE t.dispatch_id = d.id)
      FROM dispatches d WHERE d.id = p_id
  $fn$;

  -- outcome: created | held (the handle's dispatch, found under the lock) | refused (a cap is
  -- reached: the live counts say which) | conflict (the id or handle is taken: nothing written).
  CREATE FUNCTION fleet_insert_dispatch(
    p_id text, p_handle text, p_scope text, p_labels jsonb, p_route text, p_client text,
    p_job jsonb, p_at bigint, p_limited boolean,
    p_max_total bigint, p_max_route bigint, p_max_route_scope bigint)
  RETURNS TABLE (outcome text, live_total bigint, live_route bigint, live_route_scope bigint,
                 id text, handle text, scope text, labels text, route text, client text, job text,
                 state text, runner text, provider text, instance_id text, error text,
                 machine text, hourly_price double precision, retries integer,
                 created_at bigint, updated_at bigint, transitions text)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  DECLARE
    v_outcome text;
    v_id text;
    v_total bigint;
    v_route bigint;
    v_route_scope bigint;
  BEGIN
    IF p_limited THEN
      PERFORM pg_advisory_xact_lock(1717985635, hashtext(current_schema()));
      IF p_handle IS NOT NULL THEN
        SELECT d.id INTO v_id FROM dispatches d WHERE d.handle = p_handle;
        IF FOUND THEN
          v_outcome := 'held';
        END IF;
      END IF;
      IF v_outcome IS NULL THEN
        SELECT count(*),
               count(*) FILTER (WHERE d.route = p_route),
               count(*) FILTER (WHERE d.route = p_route AND d.scope = p_scope)
          INTO v_total, v_route, v_route_scope
          FROM dispatches d WHERE d.state IN ${LIVE_STATES_SQL};
        -- A cap left NULL compares to NULL, which IF takes as false: no such cap.
        IF v_total >= p_max_total OR v_route >= p_max_route OR v_route_scope >= p_max_route_scope THEN
          v_outcome := 'refused';
        END IF;
      END IF;
    END IF;
    IF v_outcome IS NULL THEN
      INSERT INTO dispatches (id, handle, scope, labels, route, client, job, state, created_at, updated_at)
      VALUES (p_id, p_handle, p_scope, p_labels, p_route, p_client, p_job, 'accepted', p_at, p_at)
      ON CONFLICT DO NOTHING
      RETURNING dispatches.id INTO v_id;
      IF FOUND THEN
        INSERT INTO transitions (dispatch_id, seq, state, at, reason) VALUES (p_id, 0, 'accepted', p_at, NULL);
        v_outcome := 'created';
      ELSE
        v_outcome := 'conflict';
      END IF;
    END IF;
    RETURN QUERY
      SELECT v_outcome, v_total, v_route, v_route_scope, r.*
        FROM (VALUES (1)) AS one (n) LEFT JOIN fleet_dispatch_row(v_id) r ON true;
  END
  $fn$;

  -- outcome: moved (with the row) | fenced (the lease no longer holds: nothing written);
  -- no row: the dispatch is not in one of p_from (or does not exist).
  CREATE FUNCTION fleet_transition_dispatch(
    p_id text, p_from text[], p_to text, p_at bigint,
    p_set_runner boolean, p_runner jsonb, p_set_provider boolean, p_provider text,
    p_set_instance_id boolean, p_instance_id text, p_set_error boolean, p_error text,
    p_set_machine boolean, p_machine text, p_set_hourly_price boolean, p_hourly_price double precision,
    p_set_retries boolean, p_retries integer, p_reason text, p_lazy boolean,
    p_fence_name text, p_fence_epoch bigint)
  RETURNS TABLE (outcome text,
                 id text, handle text, scope text, labels text, route text, client text, job text,
                 state text, runner text, provider text, instance_id text, error text,
                 machine text, hourly_price double precision, retries integer,
                 created_at bigint, updated_at bigint, transitions text)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  BEGIN
    IF p_lazy THEN
      PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    IF p_fence_name IS NOT NULL THEN
      PERFORM 1 FROM leases l
        WHERE l.name = p_fence_name AND l.epoch = p_fence_epoch
          AND l.expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint
        FOR SHARE;
      IF NOT FOUND THEN
        RETURN QUERY
          SELECT 'fenced'::text, r.* FROM (VALUES (1)) AS one (n) LEFT JOIN fleet_dispatch_row(NULL) r ON true;
        RETURN;
      END IF;
    END IF;
    UPDATE dispatches d
       SET state = p_to,
           updated_at = greatest(d.updated_at, p_at),
           runner = CASE WHEN p_set_runner THEN p_runner ELSE d.runner END,
           provider = CASE WHEN p_set_provider THEN p_provider ELSE d.provider END,
           instance_id = CASE WHEN p_set_instance_id THEN p_instance_id ELSE d.instance_id END,
           error = CASE WHEN p_set_error THEN p_error ELSE d.error END,
           machine = CASE WHEN p_set_machine THEN p_machine ELSE d.machine END,
           hourly_price = CASE WHEN p_set_hourly_price THEN p_hourly_price ELSE d.hourly_price END,
           retries = CASE WHEN p_set_retries THEN p_retries ELSE d.retries END
     WHERE d.id = p_id AND d.state = ANY(p_from);
    IF NOT FOUND THEN
      RETURN;
    END IF;
    -- The row lock taken above makes max(seq) race-free.
    INSERT INTO transitions (dispatch_id, seq, state, at, reason)
    SELECT p_id, coalesce(max(t.seq), -1) + 1, p_to, p_at, p_reason FROM transitions t WHERE t.dispatch_id = p_id;
    RETURN QUERY SELECT 'moved'::text, r.* FROM fleet_dispatch_row(p_id) r;
  END
  $fn$;
`;
