import { createServer, type Server } from 'node:net';
import pg from 'pg';
import { afterEach, expect, it, vi } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { FencedWriteError, StoreUnavailableError, UnsupportedSchemaError } from '../errors.js';
import type { Migration } from '../migrations.js';
import { describePostgres } from '../testing/postgres.js';
import { LAZY_WRITE } from '../types.js';
import { LATEST_POSTGRES_SCHEMA_VERSION, migratePostgres, POSTGRES_MIGRATIONS } from './migrations.js';
import { openPostgresStore, type PostgresStore } from './store.js';

const opened: PostgresStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

/** A TCP port that takes connections and never answers: a server that hangs. */
async function silentPort(): Promise<{ port: number; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const { port, server } = await silentPort();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describePostgres('postgres store', (db) => {
  async function open(options: Parameters<typeof db.open>[0] = {}): Promise<PostgresStore> {
    const store = await db.open(options);
    opened.push(store);
    return store;
  }

  it('migrates a new schema once, and reopening changes nothing', async () => {
    const schema = await db.schema();
    const first = await open({ schema, now: () => T0 });
    const second = await open({ schema, now: () => T0 + 1 });

    expect(first.migration).toEqual({ from: 0, to: LATEST_POSTGRES_SCHEMA_VERSION });
    expect(second.migration).toEqual({
      from: LATEST_POSTGRES_SCHEMA_VERSION,
      to: LATEST_POSTGRES_SCHEMA_VERSION,
    });
    const { rows } = await db.sql(
      `SELECT version, applied_at FROM ${schema}.schema_migrations ORDER BY version`,
    );
    expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, applied_at: String(T0) })));
  });

  it('migrates once when several replicas open a new schema at the same moment', async () => {
    const schema = await db.schema();
    const ids = ['sa', 'sb', 'sc', 'sd'];

    const stores = await Promise.all(ids.map((id) => open({ schema, newStoreId: () => id })));

    expect(stores.filter((store) => store.migration.from === 0)).toHaveLength(1);
    expect(new Set(stores.map((store) => store.storeId)).size).toBe(1);
    const { rows } = await db.sql(`SELECT count(*)::int AS n FROM ${schema}.schema_migrations`);
    expect(rows[0]).toEqual({ n: POSTGRES_MIGRATIONS.length });
  });

  it('keeps the store id made with the store', async () => {
    const schema = await db.schema();
    const first = await open({ schema, newStoreId: () => 'sfirst' });
    const second = await open({ schema, newStoreId: () => 'ssecond' });

    expect([first.storeId, second.storeId]).toEqual(['sfirst', 'sfirst']);
    expect((await open()).storeId).toMatch(/^s[0-9a-f]{16}$/);
  });

  it('refuses a schema from a newer build, as SQLite does, naming where', async () => {
    const schema = await db.schema();
    await (await open({ schema })).close();
    await db.sql(
      `INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)`,
    );

    const error = await db.open({ schema }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UnsupportedSchemaError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^store postgres://[^ ]+ \\(schema ${schema}\\): schema version 99 is newer than the ${LATEST_POSTGRES_SCHEMA_VERSION} this build supports; upgrade forgejo-fleet`,
      ),
    );
  });

  it('rolls a failing migration back whole, keeping the previous version', async () => {
    const schema = await db.schema();
    await (await open({ schema })).close();
    const broken: Migration = {
      version: LATEST_POSTGRES_SCHEMA_VERSION + 1,
      name: 'broken',
      sql: 'CREATE TABLE half (a int); SELECT * FROM nowhere',
    };
    const client = new pg.Client({ connectionString: db.url, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await expect(
        migratePostgres(client as unknown as pg.PoolClient, () => T0, schema, [
          ...POSTGRES_MIGRATIONS,
          broken,
        ]),
      ).rejects.toThrow(/nowhere/);
    } finally {
      await client.end();
    }

    const { rows } = await db.sql(
      `SELECT (SELECT max(version) FROM ${schema}.schema_migrations) AS version, to_regclass('${schema}.half') AS half`,
    );
    expect(rows[0]).toEqual({ version: LATEST_POSTGRES_SCHEMA_VERSION, half: null });
  });

  it('gives a handle one record whichever of two stores on one database inserts it', async () => {
    const schema = await db.schema();
    const a = await open({ schema });
    const b = await open({ schema });

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).insert(newDispatch(`x${i}`, { handle: 'h' })),
      ),
    );

    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.record.id)).size).toBe(1);
  });

  it('stores records the SQLite way: JSON columns, bigint times, the history in order', async () => {
    const schema = await db.schema();
    const store = await open({ schema });
    await store.insert(newDispatch('d1', { labels: ['linux', 'x64'] }));
    await store.transition('d1', ['accepted'], 'registering', T0 + 1, {
      runner: { id: 1, uuid: 'u', name: 'n' },
    });

    const { rows } = await db.sql(`SELECT labels, runner, created_at FROM ${schema}.dispatches`);

    expect(rows).toEqual([
      { labels: ['linux', 'x64'], runner: { id: 1, uuid: 'u', name: 'n' }, created_at: String(T0) },
    ]);
  });

  it.each([
    ['an insert with limits', (s: PostgresStore) => s.insert(newDispatch('d2'), { limits: { total: 5 } })],
    ['a transition', (s: PostgresStore) => s.transition('d1', ['accepted'], 'registering', T0 + 1)],
    [
      'a lazy transition',
      (s: PostgresStore) => s.transition('d1', ['accepted'], 'registering', T0 + 1, {}, LAZY_WRITE),
    ],
    [
      'a fenced transition',
      (s: PostgresStore) =>
        s.transition('d1', ['accepted'], 'failed', T0 + 1, {}, { fence: { name: 'leader', epoch: 1 } }),
    ],
  ])('writes %s in one round trip, as a prepared statement', async (_name, write) => {
    const store = await open();
    await store.insert(newDispatch('d1'));
    await store.acquireLease('leader', 'r1', 60_000, T0);
    const queries = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await write(store);

      expect(queries).toHaveBeenCalledTimes(1);
      expect(queries.mock.calls[0]?.[0]).toMatchObject({ name: expect.stringMatching(/^fleet_/) });
    } finally {
      queries.mockRestore();
    }
  });

  it('reports a fenced transition as FencedWriteError, writing nothing', async () => {
    const store = await open();
    await store.insert(newDispatch('d1'));

    const error = await store
      .transition('d1', ['accepted'], 'failed', T0 + 1, {}, { fence: { name: 'leader', epoch: 1 } })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(FencedWriteError);
    expect(await store.get('d1')).toMatchObject({ state: 'accepted', transitions: [{ state: 'accepted' }] });
  });

  it('commits exactly the lazy writes with synchronous_commit off, on a reused connection too', async () => {
    const schema = await db.schema();
    // One connection, so a setting that outlived its transaction would show on the next write.
    const store = await open({ schema, poolMax: 1 });
    await db.sql(`CREATE TABLE ${schema}.commit_modes (state text, mode text)`);
    await db.sql(`
      CREATE FUNCTION ${schema}.note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ${schema}.commit_modes VALUES (NEW.state, current_setting('synchronous_commit'));
        RETURN NEW;
      END $$`);
    await db.sql(
      `CREATE TRIGGER note AFTER INSERT ON ${schema}.transitions FOR EACH ROW EXECUTE FUNCTION ${schema}.note_commit_mode()`,
    );

    await store.insert(newDispatch('d1'), { limits: {} });
    await store.transition('d1', ['accepted'], 'registering', T0 + 1, {}, LAZY_WRITE);
    await store.transition('d1', ['registering'], 'provisioning', T0 + 2);
    await store.transition('d1', ['provisioning'], 'booting', T0 + 3, {}, LAZY_WRITE);
    await store.transition('d1', ['booting'], 'running', T0 + 4, {}, { durable: true });

    const { rows } = await db.sql(`SELECT state, mode FROM ${schema}.commit_modes`);
    expect(rows).toEqual([
      { state: 'accepted', mode: 'on' },
      { state: 'registering', mode: 'off' },
      { state: 'provisioning', mode: 'on' },
      { state: 'booting', mode: 'off' },
      { state: 'running', mode: 'on' },
    ]);
  });

  it('survives its connections being cut: calls fail only as StoreUnavailableError, then it recovers by itself', async () => {
    const schema = await db.schema();
    const store = await open({ schema, poolMax: 2 });
    await Promise.all([store.insert(newDispatch('before')), store.ping()]);

    // An operator (or a failover) terminates the store's connections: the next call on each fails.
    await db.terminate(schema);
    const failures: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      await store.insert(newDispatch(`during${i}`)).catch((error: unknown) => failures.push(error));
    }

    expect(failures.every((error) => error instanceof StoreUnavailableError)).toBe(true);
    await expect(store.insert(newDispatch('after'))).resolves.toMatchObject({ created: true });
    expect(await store.ping()).toBe(true);
  });

  it('drops a connection cut inside a transaction instead of pooling it, then recovers by itself', async () => {
    const schema = await db.schema();
    // One connection: the call after the failure works only if the cut one was not pooled again.
    const store = await open({ schema, poolMax: 1 });
    await store.insert(newDispatch('d1'));
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // The touch's transaction waits on this lock, so the cut lands inside it, deterministically.
      await holder.query(`BEGIN; LOCK TABLE ${schema}.dispatches IN ACCESS EXCLUSIVE MODE`);
      const touching = store.touch(['d1'], T0 + 1).catch((caught: unknown) => caught);
      await waitForLockWait(schema);

      await db.terminate(schema);

      expect(await touching).toBeInstanceOf(StoreUnavailableError);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await store.touch(['d1'], T0 + 2);
    expect(await store.get('d1')).toMatchObject({ updated_at: T0 + 2 });
  });

  /** Until a connection of the schema's stores waits on a lock (bounded: no timing assumption). */
  async function waitForLockWait(schema: string): Promise<void> {
    for (let attempt = 0; attempt < 1_000; attempt++) {
      const { rows } = await db.sql(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [`forgejo-fleet-test-${schema}`],
      );
      if (rows.length > 0) return;
    }
    throw new Error('the store never waited on the lock');
  }

  it('gives up on a lock held past the statement timeout with StoreUnavailableError', async () => {
    const schema = await db.schema();
    const store = await open({ schema, statementTimeoutMs: 200 });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE ${schema}.dispatches IN ACCESS EXCLUSIVE MODE`);

      const error = await store.insert(newDispatch('blocked')).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toMatch(/^(55P03|57014)$/);
      expect(await store.ping()).toBe(true);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await expect(store.insert(newDispatch('unblocked'))).resolves.toMatchObject({ created: true });
  });

  it('fails to open with StoreUnavailableError when nothing listens, never printing the password', async () => {
    const port = await closedPort();

    const error = await openPostgresStore({
      url: `postgres://fleet:hunter2@127.0.0.1:${port}/fleet`,
      tls: { mode: 'disable' },
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).code).toBe('ECONNREFUSED');
    expect(
      JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack }),
    ).not.toContain('hunter2');
  });

  it('fails to open with StoreUnavailableError when the server never answers', async () => {
    const { port, server } = await silentPort();
    try {
      const error = await openPostgresStore({
        url: `postgres://fleet@127.0.0.1:${port}/fleet`,
        tls: { mode: 'disable' },
        connectTimeoutMs: 100,
      }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(StoreUnavailableError);
    } finally {
      server.close();
    }
  });
});
