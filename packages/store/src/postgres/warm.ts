import type pg from 'pg';
import type { WarmPatch, WarmState } from '../types.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** The warm pool's SQL (see warm.ts for SQLite's): compare-and-set writes returning the row. */
export const WARM_SQL = {
  insert: `
    INSERT INTO warm_vms (id, route, provider, state, secret_hash, created_at, updated_at)
    VALUES ($1, $2, $3, 'creating', $4, $5, $5)
    RETURNING *`,
  get: 'SELECT * FROM warm_vms WHERE id = $1',
  update: `
    UPDATE warm_vms
       SET state = $3,
           updated_at = greatest(updated_at, $4),
           instance_id = coalesce($5, instance_id),
           machine = CASE WHEN $6::boolean THEN $7 ELSE machine END,
           hourly_price = CASE WHEN $8::boolean THEN $9::double precision ELSE hourly_price END,
           reason = coalesce($10, reason),
           secret_hash = CASE WHEN $11::boolean OR $3 = 'retired' THEN NULL ELSE secret_hash END,
           ready_at = CASE WHEN $3 = 'idle' AND ready_at IS NULL THEN $4 ELSE ready_at END
     WHERE id = $1 AND state = ANY($2::text[])
    RETURNING *`,
  // SKIP LOCKED: a claim racing another (on any replica) takes the next idle VM instead of
  // waiting for the first to commit; the outer WHERE re-checks under the row lock, so a VM is
  // claimed at most once, ever.
  claim: `
    UPDATE warm_vms SET state = 'claimed', dispatch_id = $2, claimed_at = $3,
                        updated_at = greatest(updated_at, $3)
     WHERE id = (SELECT id FROM warm_vms
                  WHERE route = $1 AND state = 'idle' AND NOT (provider = ANY($4::text[]))
                  ORDER BY ready_at NULLS FIRST, id LIMIT 1
                  FOR UPDATE SKIP LOCKED)
       AND state = 'idle' AND dispatch_id IS NULL
    RETURNING *`,
  listLive: "SELECT * FROM warm_vms WHERE state != 'retired' ORDER BY created_at, id",
} as const;

export function updateWarm(
  db: Queryable,
  id: string,
  from: readonly WarmState[],
  to: WarmState,
  at: number,
  patch: WarmPatch,
): Promise<pg.QueryResult> {
  return db.query(WARM_SQL.update, [
    id,
    [...from],
    to,
    at,
    patch.instance_id ?? null,
    patch.machine !== undefined,
    patch.machine ?? null,
    patch.hourly_price !== undefined,
    patch.hourly_price ?? null,
    patch.reason ?? null,
    patch.burn_secret === true,
  ]);
}
