import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS, durably, openDatabase } from './connection.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('openDatabase', () => {
  it('configures WAL, NORMAL sync, foreign keys and the busy timeout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-conn-'));
    dirs.push(dir);

    const db = openDatabase(join(dir, 'fleet.sqlite'));

    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 1 = NORMAL: commits survive a process crash; writes that must survive a power loss are
    // synced one by one (durably, see connection.ts).
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
    db.close();
  });

  it('opens an in-memory database for tests', () => {
    const db = openDatabase(':memory:');

    expect(db.pragma('journal_mode', { simple: true })).toBe('memory');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('syncs one write with FULL and returns to NORMAL after it, also when it throws', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-conn-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'fleet.sqlite'));
    const synced = durably(db);

    const during = synced(() => db.pragma('synchronous', { simple: true }));
    const after = db.pragma('synchronous', { simple: true });
    expect(() =>
      synced(() => {
        throw new Error('write failed');
      }),
    ).toThrow('write failed');

    expect([during, after, db.pragma('synchronous', { simple: true })]).toEqual([2, 1, 1]);
    db.close();
  });
});
