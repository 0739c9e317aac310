import type pg from 'pg';
import { FencedWriteError } from '../errors.js';
import { nextLease, toLease } from '../lease.js';
import type { Lease, LeaseFence, LeaseGrant } from '../types.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * The database server's clock in epoch milliseconds. clock_timestamp(), not now(): now() is the
 * start of the transaction, and a transaction that waited on a lock must see the time it acts at.
 */
const DB_NOW = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

export const LEASE_SQL = {
  // A placeholder row (nobody, epoch 0, expired) so the next statement always has a row to lock:
  // two replicas acquiring a lease nobody ever held then queue on one row lock.
  ensure: `INSERT INTO leases (name, holder, epoch, expires_at) VALUES ($1, '', 0, 0)
           ON CONFLICT (name) DO NOTHING`,
  lockRow: 'SELECT holder, epoch, expires_at FROM leases WHERE name = $1 FOR UPDATE',
  // Read after the row lock was granted: a replica that waited gets the time it decides at.
  now: `SELECT ${DB_NOW} AS now`,
  take: 'UPDATE leases SET holder = $2, epoch = $3, expires_at = $4 WHERE name = $1',
  release: `UPDATE leases SET expires_at = 0
             WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > 0`,
  read: `SELECT name, holder, epoch, expires_at, ${DB_NOW} AS now FROM leases WHERE name = $1 AND epoch > 0`,
  // FOR SHARE: an acquire (FOR UPDATE) waits until the fenced write commits or rolls back, and a
  // write that waited on an acquire re-checks the row as that acquire left it.
  holds: `SELECT 1 FROM leases WHERE name = $1 AND epoch = $2 AND expires_at > ${DB_NOW} FOR SHARE`,
} as const;

interface LockedRow {
  readonly holder: string;
  readonly epoch: string | number;
  readonly expires_at: string | number;
}

/** One acquire, inside the caller's transaction: the rule is lease.ts `nextLease`, the clock the server's. */
export async function acquireLease(
  db: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<LeaseGrant | undefined> {
  await db.query(LEASE_SQL.ensure, [name]);
  const { rows } = await db.query<LockedRow>(LEASE_SQL.lockRow, [name]);
  const row = rows[0];
  if (row === undefined) throw new Error(`lease ${name} vanished inside its own transaction`);
  const now = Number((await db.query<{ now: string }>(LEASE_SQL.now)).rows[0]?.now);
  const grant = nextLease(
    { holder: row.holder, epoch: Number(row.epoch), expires_at: Number(row.expires_at) },
    holder,
    ttlMs,
    now,
  );
  if (grant !== undefined) await db.query(LEASE_SQL.take, [name, holder, grant.epoch, grant.expiresAt]);
  return grant;
}

export async function releaseLease(
  db: Queryable,
  name: string,
  holder: string,
  epoch: number,
): Promise<boolean> {
  return ((await db.query(LEASE_SQL.release, [name, holder, epoch])).rowCount ?? 0) > 0;
}

export async function readLease(db: Queryable, name: string): Promise<Lease | undefined> {
  const { rows } = await db.query(LEASE_SQL.read, [name]);
  const row = rows[0];
  return row === undefined ? undefined : toLease(row, Number(row.now));
}

/** The first statement of a fenced write's transaction; throws FencedWriteError when the fence no longer holds. */
export async function checkFenceHolds(db: Queryable, fence: LeaseFence): Promise<void> {
  const { rowCount } = await db.query(LEASE_SQL.holds, [fence.name, fence.epoch]);
  if ((rowCount ?? 0) === 0) throw new FencedWriteError(fence.name, fence.epoch);
}
