import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS, openDatabase } from './connection.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('openDatabase', () => {
  it('configures WAL, full fsync, foreign keys and the busy timeout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-conn-'));
    dirs.push(dir);

    const db = openDatabase(join(dir, 'fleet.sqlite'));

    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 2 = FULL: every commit is fsynced, so an intent survives power loss (see connection.ts).
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
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
});
