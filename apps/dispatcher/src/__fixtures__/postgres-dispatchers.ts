import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DispatcherConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import type { TestDatabase } from '@forgejo-fleet/store/testing';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach } from 'vitest';
import { createLogger } from '../logger.js';
import { type RunningDispatcher, startDispatcher } from '../server.js';
import { memoryProvider } from './memory-provider.js';
import { seedAcme } from './world-parts.js';

const TOKEN = 'postgres-dispatchers-client-token-0123';

/** One route `small` (label linux) on a memory cloud, with no limits of its own. */
const ONE_ROUTE = `
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
`;

export interface PostgresDispatchersOptions {
  readonly fleetId: string;
  /** The store block's `pool_max`; the config's default without it. */
  readonly poolMax?: number;
  /**
   * The config's `limits`, `providers` and `routes` (ONE_ROUTE without it). Its provider `cloud` is
   * the memory cloud, and `dispatch` asks for [linux], so a route must take that label.
   */
  readonly fleet?: string;
}

interface World {
  readonly forgejo: RunningFakeForgejo;
  readonly work: string;
  readonly schema: string;
  readonly config: DispatcherConfig;
  readonly cloud: ReturnType<typeof memoryProvider>;
}

/**
 * Wired dispatchers (startDispatcher, HTTP) on the test PostgreSQL, with a new schema and a fake
 * Forgejo (org acme) for each test. The config reaches the schema as an operator's would: a
 * `kind: postgres` store whose URL, from the environment, sets `search_path` in its options.
 * Call it in a describePostgres body; its fields are the running test's, so read them in a test.
 */
export function postgresDispatchers(db: TestDatabase, options: PostgresDispatchersOptions) {
  let world: World | undefined;
  const running: RunningDispatcher[] = [];

  function current(): World {
    if (world === undefined) throw new Error('postgresDispatchers: read inside a test');
    return world;
  }

  beforeEach(async () => {
    const work = mkdtempSync(join(tmpdir(), `fleet-pg-${options.fleetId}-`));
    const forgejo = await startFakeForgejo();
    const { token } = seedAcme(forgejo);
    const schema = await db.schema();
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const poolMax = options.poolMax === undefined ? '' : `pool_max: ${options.poolMax}, `;
    const config = parseDispatcherConfig(
      `
fleet_id: ${options.fleetId}
listen: { host: 127.0.0.1, port: 0 }
store: { kind: postgres, url_env: PG_URL, tls: { mode: disable }, ${poolMax}decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FT }
${(options.fleet ?? ONE_ROUTE).trim()}
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
      { file: `${options.fleetId}.yaml`, env: { FT: token, CT: TOKEN, PG_URL: url.toString() } },
    );
    world = { forgejo, work, schema, config, cloud: memoryProvider('cloud') };
  });

  afterEach(async () => {
    for (const dispatcher of running.splice(0)) await dispatcher.close();
    const ended = world;
    world = undefined;
    if (ended === undefined) return;
    await ended.forgejo.close();
    rmSync(ended.work, { recursive: true, force: true });
  });

  function api(dispatcher: RunningDispatcher, method: string, path: string, body?: unknown) {
    return fetch(`${dispatcher.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  return {
    get forgejo() {
      return current().forgejo;
    },
    get schema() {
      return current().schema;
    },
    get config() {
      return current().config;
    },
    get cloud() {
      return current().cloud;
    },
    /** A dispatcher on this test's schema; closed after the test unless stopped before. */
    async start(): Promise<RunningDispatcher> {
      const { config, cloud } = current();
      const dispatcher = await startDispatcher({
        config,
        log: createLogger('silent'),
        providerFor: () => cloud.provider,
        reconcileIntervalMs: 3_600_000,
      });
      running.push(dispatcher);
      return dispatcher;
    },
    /** Closes a dispatcher now (a restart), so the end of the test does not close it again. */
    async stop(dispatcher: RunningDispatcher): Promise<void> {
      await dispatcher.close();
      running.splice(running.indexOf(dispatcher), 1);
    },
    /** An API call as client `ci` (every scope). */
    api,
    /** `POST /v1/dispatch` of a `build` job of acme/web for [linux]. */
    dispatch(dispatcher: RunningDispatcher, job: { handle: string; id: number }) {
      return api(dispatcher, 'POST', '/v1/dispatch', {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      });
    },
    /** Rows of a query on this test's schema, written `$schema.table`. */
    async rows(sql: string): Promise<Record<string, unknown>[]> {
      return (await db.sql(sql.replaceAll('$schema', current().schema))).rows;
    },
  };
}
