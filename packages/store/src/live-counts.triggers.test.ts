import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './connection.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { LIVE_STATES_SQL } from './statements.js';
import { DISPATCH_STATES } from './types.js';

const T0 = 1_700_000_000_000;
const ROUTES = ['small', 'large'] as const;
const SCOPES = ['org:a', 'org:b', 'instance'] as const;

type Count = { route: string; scope: string; n: number };

/** What the triggers keep, without the rows that went back to 0. */
function kept(db: Database): Count[] {
  return db
    .prepare('SELECT route, scope, n FROM live_counts WHERE n > 0 ORDER BY route, scope')
    .all() as Count[];
}

/** The same counts the slow way, from the rows themselves. */
function counted(db: Database): Count[] {
  return db
    .prepare(
      `SELECT route, scope, count(*) AS n FROM dispatches WHERE state IN ${LIVE_STATES_SQL}
        GROUP BY route, scope ORDER BY route, scope`,
    )
    .all() as Count[];
}

function insertRow(db: Database, row: { id: string; route: string; scope: string; state: string }): void {
  db.prepare(
    `INSERT INTO dispatches (id, handle, scope, labels, route, client, job, state, created_at, updated_at)
     VALUES (@id, NULL, @scope, '["linux"]', @route, 'test', NULL, @state, ${T0}, ${T0})`,
  ).run(row);
}

const route = fc.constantFrom(...ROUTES);
const scope = fc.constantFrom(...SCOPES);
const state = fc.constantFrom(...DISPATCH_STATES);
const step = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), route, scope, state }),
  fc.record({ op: fc.constant('state' as const), pick: fc.nat(), state }),
  fc.record({ op: fc.constant('move' as const), pick: fc.nat(), route, scope }),
  fc.record({ op: fc.constant('touch' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
);
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

function apply(db: Database, ids: string[], s: Step, n: number): void {
  if (s.op === 'insert') {
    const id = `d${n}`;
    insertRow(db, { id, route: s.route, scope: s.scope, state: s.state });
    ids.push(id);
    return;
  }
  const id = ids[s.pick % Math.max(1, ids.length)];
  if (id === undefined) return;
  if (s.op === 'state') db.prepare('UPDATE dispatches SET state = ? WHERE id = ?').run(s.state, id);
  if (s.op === 'move') {
    db.prepare('UPDATE dispatches SET route = ?, scope = ? WHERE id = ?').run(s.route, s.scope, id);
  }
  // A write that leaves state alone (a heartbeat) must not move a count.
  if (s.op === 'touch') db.prepare('UPDATE dispatches SET updated_at = updated_at + 1 WHERE id = ?').run(id);
  if (s.op === 'delete') {
    db.prepare('DELETE FROM transitions WHERE dispatch_id = ?').run(id);
    db.prepare('DELETE FROM dispatches WHERE id = ?').run(id);
    ids.splice(ids.indexOf(id), 1);
  }
}

describe('live_counts (migration 6)', () => {
  it('equals the live rows counted per route and scope after any sequence of writes', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const db = openDatabase(':memory:');
        migrate(db, () => T0);
        const ids: string[] = [];
        steps.forEach((s, n) => {
          apply(db, ids, s, n);
          expect(kept(db)).toEqual(counted(db));
        });
        db.close();
      }),
      { numRuns: 200 },
    );
  });

  it('starts from the rows a version 5 store already holds', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0, MIGRATIONS.slice(0, 5));
    let n = 0;
    for (const r of ROUTES) {
      for (const s of SCOPES) {
        for (const st of DISPATCH_STATES) insertRow(db, { id: `d${n++}`, route: r, scope: s, state: st });
      }
    }
    const before = counted(db);

    migrate(db, () => T0);

    expect(before.length).toBe(ROUTES.length * SCOPES.length);
    expect(kept(db)).toEqual(before);
  });

  it('never lets a count go below zero', () => {
    const db = openDatabase(':memory:');
    migrate(db, () => T0);

    expect(() =>
      db.prepare("INSERT INTO live_counts (route, scope, n) VALUES ('small', 'org:a', -1)").run(),
    ).toThrow(/CHECK constraint/);
  });
});
