import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../postgres/store.js';

/**
 * Real PostgreSQL for tests. `FORGEJO_FLEET_TEST_PG_URL` names a database the tests may create
 * schemas in (scripts/dev/postgres.sh starts a throwaway one; .ci/run does the same). Without it
 * the PostgreSQL tests skip locally, and fail in CI (FORGEJO_FLEET_CI=1): they must never
 * silently not run there.
 */
const url = process.env.FORGEJO_FLEET_TEST_PG_URL;
const inCi = process.env.FORGEJO_FLEET_CI === '1';
const HOW_TO_ENABLE = 'set FORGEJO_FLEET_TEST_PG_URL to enable them: eval "$(scripts/dev/postgres.sh start)"';

export interface TestDatabase {
  readonly url: string;
  /** A new empty schema, dropped after the file's tests. */
  schema(): Promise<string>;
  /** A store in a new empty schema (or in `schema`, to open one twice). */
  open(options?: Partial<PostgresStoreOptions>): Promise<PostgresStore>;
  /** Cuts every connection of the stores opened on `schema` (a server restart, as they see it). */
  terminate(schema: string): Promise<void>;
  /** Runs SQL as the admin connection (to damage or inspect a schema on purpose). */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/** Names the connections of one schema's stores, so a test can find (and cut) exactly those. */
function applicationName(schema: string): string {
  return `forgejo-fleet-test-${schema}`;
}

/**
 * `describe` for tests that need PostgreSQL: gives them a TestDatabase whose schemas (random
 * names, so test files run in parallel on one database) are dropped after the file.
 */
export function describePostgres(name: string, body: (db: TestDatabase) => void): void {
  if (url === undefined || url === '') {
    if (inCi) {
      describe(name, () => {
        it('has a PostgreSQL to test against', () => {
          throw new Error(`FORGEJO_FLEET_CI is set but FORGEJO_FLEET_TEST_PG_URL is not; ${HOW_TO_ENABLE}`);
        });
      });
      return;
    }
    describe.skip(`${name} (PostgreSQL tests skipped: ${HOW_TO_ENABLE})`, () => {
      it('needs PostgreSQL', () => undefined);
    });
    return;
  }
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  // A test that terminates connections on purpose must not crash the file through this pool.
  admin.on('error', () => undefined);
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });
  const db: TestDatabase = {
    url,
    async schema() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      await admin.query(`CREATE SCHEMA ${schema}`);
      return schema;
    },
    async open(options = {}) {
      const schema = options.schema ?? (await db.schema());
      return openPostgresStore({
        url,
        poolMax: 10,
        // The throwaway cluster listens on 127.0.0.1 without TLS.
        tls: { mode: 'disable' },
        applicationName: applicationName(schema),
        ...options,
        schema,
      });
    },
    async terminate(schema) {
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [applicationName(schema)],
      );
    },
    sql(text, values) {
      return admin.query(text, values);
    },
  };
  describe(name, () => body(db));
}
