import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { T0 } from './__fixtures__/dispatch.js';
import { openDatabase } from './connection.js';
import { migrate } from './migrations.js';
import { prepareStatements } from './statements.js';

describe('query plans', () => {
  function plan(db: Database, sql: string): string {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[];
    return rows.map((row) => row.detail).join('\n');
  }

  function migrated(): Database {
    const db = openDatabase(':memory:');
    migrate(db, () => T0);
    return db;
  }

  it('counts live dispatches from the trigger-kept live_counts table alone', () => {
    const db = migrated();
    const source = prepareStatements(db).countLive.source;

    expect(plan(db, source)).toBe('SCAN live_counts');
  });

  it.each([
    ['state', 'dispatches_by_state'],
    ['scope', 'dispatches_by_scope'],
    ['route', 'dispatches_by_route'],
  ])('pages a %s filter through its index without sorting', (field, index) => {
    const db = migrated();
    const sql = `SELECT id FROM dispatches d WHERE d.${field} = 'x' AND (d.created_at, d.id) < (1, 'a')
                 ORDER BY d.created_at DESC, d.id DESC LIMIT 10`;

    const detail = plan(db, sql);

    expect(detail).toContain(index);
    expect(detail).not.toContain('TEMP B-TREE');
  });
});
