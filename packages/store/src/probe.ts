import type { Database } from 'better-sqlite3';

/** Room the probe asks for: a few pages, so a store at its size limit fails the probe. */
const HEADROOM_BYTES = 64 * 1024;

class Rollback extends Error {}

/**
 * The readiness probe: one committed write, and a check that the file can still grow.
 *
 * Rewriting one small row proves the write path works (not read-only, no I/O error, WAL
 * writable), but it fits in the row's own page, so a full store (SQLITE_FULL, e.g. a disk or
 * `max_page_count` limit) would still pass. So the probe also inserts a 64 KiB row inside a
 * savepoint and rolls it back: SQLite must find pages for it (from the free list or by growing
 * the file), which fails when a real insert would. Nothing of that row is ever written.
 * Throws the SQLite error (the caller classifies it).
 */
export function writeProbe(db: Database): (at: number) => void {
  const stamp = db.prepare(
    'INSERT INTO probe (id, at) VALUES (1, @at) ON CONFLICT (id) DO UPDATE SET at = excluded.at',
  );
  const pad = db.prepare('INSERT INTO probe (id, at, pad) VALUES (2, @at, zeroblob(@bytes))');
  const headroom = db.transaction((at: number) => {
    pad.run({ at, bytes: HEADROOM_BYTES });
    throw new Rollback();
  });
  const probe = db.transaction((at: number) => {
    stamp.run({ at });
    try {
      headroom(at);
    } catch (error) {
      if (!(error instanceof Rollback)) throw error;
    }
  });
  return (at) => probe.immediate(at);
}
