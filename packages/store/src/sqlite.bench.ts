import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { newDispatch, T0 } from './__fixtures__/dispatch.js';
import { openDatabase } from './connection.js';
import { migrate } from './migrations.js';
import { openSqliteStore, type SqliteStore } from './sqlite.js';
import { LAZY_WRITE } from './types.js';

const LIVE_ROWS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-store-bench-'));

/** 10,000 live dispatches over 5 routes × 7 scopes, plus as many finished ones. */
async function seededMemoryStore(): Promise<SqliteStore> {
  const store = openSqliteStore(':memory:');
  for (let i = 0; i < LIVE_ROWS * 2; i++) {
    await store.insert(newDispatch(`seed-${i}`, { route: `r${i % 5}`, scope: `org:${i % 7}`, at: T0 + i }));
    if (i % 2 === 1) await store.transition(`seed-${i}`, ['accepted'], 'failed', T0 + i);
  }
  return store;
}

/** The same data in a file, seeded in one transaction (20,000 fsyncs would only time the disk). */
function seededFileStore(path: string): SqliteStore {
  const db = openDatabase(path);
  migrate(db, Date.now);
  const insert = db.prepare(`
    INSERT INTO dispatches (id, handle, scope, labels, route, client, job, state, created_at, updated_at)
    VALUES (?, ?, ?, '["linux"]', ?, 'bench', NULL, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < LIVE_ROWS * 2; i++) {
      insert.run(
        `seed-${i}`,
        `h-seed-${i}`,
        `org:${i % 7}`,
        `r${i % 5}`,
        i % 2 ? 'failed' : 'running',
        T0,
        T0,
      );
    }
  })();
  db.close();
  return openSqliteStore(path);
}

const stores = {
  memory: await seededMemoryStore(),
  'file, NORMAL with synced writes': seededFileStore(join(dir, 'fleet.sqlite')),
};

afterAll(async () => {
  for (const store of Object.values(stores)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const [kind, store] of Object.entries(stores)) {
  describe(`sqlite store (${kind}, ${LIVE_ROWS} live rows)`, () => {
    let n = 0;

    // One dispatch's writes up to a booted VM, synced as the dispatcher syncs them (provision.ts,
    // cold-vm.ts): the intent and the runner before the create; registering and booting lazy.
    bench('insert + 3 transitions', async () => {
      const id = `b-${n++}`;
      await store.insert(newDispatch(id, { at: T0 + n }));
      await store.transition(id, ['accepted'], 'registering', T0 + n, {}, LAZY_WRITE);
      await store.transition(id, ['registering'], 'provisioning', T0 + n, {
        runner: { id: n, uuid: 'u', name: id },
      });
      await store.transition(
        id,
        ['provisioning'],
        'booting',
        T0 + n,
        { provider: 'p', instance_id: `i-${n}` },
        LAZY_WRITE,
      );
    });

    // The duplicate webhook/poll check before anything else happens.
    bench('getByHandle', async () => {
      await store.getByHandle('h-seed-4242');
    });

    // Route and scope limits are checked on every dispatch.
    bench('countLive', async () => {
      await store.countLive();
    });
  });
}
