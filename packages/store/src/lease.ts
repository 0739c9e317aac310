import type { Database } from 'better-sqlite3';
import { checkTime } from './arguments.js';
import { FencedWriteError, InvalidArgumentError } from './errors.js';
import type { Lease, LeaseFence, LeaseGrant } from './types.js';

/** Longest lease a caller may ask for: a leader that vanished holds work up for at most this. */
export const MAX_LEASE_TTL_MS = 3_600_000;

/** Stored holder of a lease row made by a fence check or release before anyone held it. */
const NOBODY = '';

// Types stop TypeScript callers; these stop a JavaScript caller or a cast from writing a lease
// row that would then never expire, or never be taken.
export function checkLeaseName(field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.length > 200) {
    throw new InvalidArgumentError(field, `must be a non-empty string of at most 200 characters`);
  }
}

export function checkLeaseArguments(name: unknown, holder: unknown, ttlMs: unknown): void {
  checkLeaseName('name', name);
  checkLeaseName('holder', holder);
  if (!Number.isSafeInteger(ttlMs) || (ttlMs as number) < 1 || (ttlMs as number) > MAX_LEASE_TTL_MS) {
    throw new InvalidArgumentError(
      'ttlMs',
      `must be an integer in 1..${MAX_LEASE_TTL_MS}, got ${String(ttlMs)}`,
    );
  }
}

export function checkFence(fence: LeaseFence): void {
  checkLeaseName('fence.name', fence.name);
  if (!Number.isSafeInteger(fence.epoch) || fence.epoch < 1) {
    throw new InvalidArgumentError('fence.epoch', `must be a positive integer, got ${String(fence.epoch)}`);
  }
}

interface LeaseRow {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
  readonly expires_at: number;
}

/**
 * What one acquire does to a lease row, given the store's time: the same rule for both backends.
 * A renewal keeps the epoch only while the lease is still held; once it expired (or was released)
 * any acquire, the old holder's too, opens a new term, so writes fenced with the old epoch stay
 * refused even if nobody else took over in between.
 */
export function nextLease(
  row: Pick<LeaseRow, 'holder' | 'epoch' | 'expires_at'> | undefined,
  holder: string,
  ttlMs: number,
  now: number,
): LeaseGrant | undefined {
  const expiresAt = now + ttlMs;
  if (row === undefined) return { epoch: 1, expiresAt, previousHolder: null };
  const previousHolder = row.holder === NOBODY ? null : row.holder;
  if (row.expires_at > now) {
    return row.holder === holder ? { epoch: row.epoch, expiresAt, previousHolder } : undefined;
  }
  return { epoch: row.epoch + 1, expiresAt, previousHolder };
}

export function toLease(row: LeaseRow, now: number): Lease {
  return {
    name: row.name,
    holder: row.holder,
    epoch: Number(row.epoch),
    expiresAt: Number(row.expires_at),
    expired: Number(row.expires_at) <= now,
    expiresInMs: Math.max(0, Number(row.expires_at) - now),
  };
}

export interface SqliteLeases {
  acquire(name: string, holder: string, ttlMs: number, now: number): LeaseGrant | undefined;
  release(name: string, holder: string, epoch: number): boolean;
  read(name: string, now: number): Lease | undefined;
  /**
   * Runs `write` in one IMMEDIATE transaction after checking that `fence` still holds at the
   * store's `now()`; throws FencedWriteError, writing nothing, when it does not. The write lock
   * is taken first, so no acquire can change the lease between the check and the write.
   */
  fenced<T>(fence: LeaseFence, write: () => T): T;
}

/**
 * Leases on SQLite. Time is the caller's `now` (one host, one clock), or the store's clock for
 * fence checks; every change runs under the write lock, so two processes never both win.
 */
export function sqliteLeases(db: Database, now: () => number): SqliteLeases {
  const get = db.prepare('SELECT name, holder, epoch, expires_at FROM leases WHERE name = ?');
  const upsert = db.prepare(`
    INSERT INTO leases (name, holder, epoch, expires_at) VALUES (@name, @holder, @epoch, @expires_at)
    ON CONFLICT (name) DO UPDATE
      SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`);
  // expires_at 0: expired for every clock, so the next acquire (by anyone) opens a new term.
  const release = db.prepare(
    'UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > 0',
  );
  const holds = db.prepare('SELECT 1 FROM leases WHERE name = ? AND epoch = ? AND expires_at > ?');

  const acquire = db.transaction((name: string, holder: string, ttlMs: number, at: number) => {
    const grant = nextLease(get.get(name) as LeaseRow | undefined, holder, ttlMs, at);
    if (grant !== undefined) {
      upsert.run({ name, holder, epoch: grant.epoch, expires_at: grant.expiresAt });
    }
    return grant;
  });
  const fencedWrite = db.transaction(<T>(fence: LeaseFence, write: () => T): T => {
    if (holds.get(fence.name, fence.epoch, now()) === undefined) {
      throw new FencedWriteError(fence.name, fence.epoch);
    }
    // A better-sqlite3 transaction called inside another becomes a savepoint of it.
    return write();
  });

  return {
    acquire(name, holder, ttlMs, at) {
      checkLeaseArguments(name, holder, ttlMs);
      checkTime('now', at);
      return acquire.immediate(name, holder, ttlMs, at);
    },
    release(name, holder, epoch) {
      checkLeaseName('name', name);
      checkLeaseName('holder', holder);
      return release.run(name, holder, epoch).changes > 0;
    },
    read(name, at) {
      checkLeaseName('name', name);
      checkTime('now', at);
      const row = get.get(name) as LeaseRow | undefined;
      return row === undefined ? undefined : toLease(row, at);
    },
    fenced(fence, write) {
      checkFence(fence);
      return fencedWrite.immediate(fence, write) as ReturnType<typeof write>;
    },
  };
}
