import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type Store } from '@forgejo-fleet/store';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordingIo } from '../__fixtures__/fleet.js';
import { runCli } from '../cli.js';

const T0 = Date.UTC(2026, 0, 1);
let dir: string;
let sqlitePath: string;
const opened: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-cli-store-'));
  sqlitePath = join(dir, 'dispatcher.db');
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: readonly string[], env: Record<string, string> = {}) {
  const recorded = recordingIo({ env });
  const code = await runCli(argv, recorded.io);
  return { code, stdout: recorded.stdout(), stderr: recorded.stderr() };
}

/** A dispatcher config on PostgreSQL whose URL comes from $PG_URL. */
function postgresConfig(kind: 'postgres' | 'sqlite' = 'postgres'): string {
  const file = join(dir, `${kind}.yaml`);
  writeFileSync(
    file,
    `fleet_id: cli-test
store: ${kind === 'postgres' ? '{ kind: postgres, url_env: PG_URL, tls: { mode: disable } }' : '{ path: other.db }'}
forgejo: { api_url: 'http://127.0.0.1:1', instance_url: 'http://127.0.0.1:1', token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: ops, token_env: OPS, scopes: ['*'] }
`,
  );
  return file;
}

/** A SQLite store with one ended and two live dispatches and a decision; closed again. */
async function sqliteFleet(): Promise<string> {
  const store = openSqliteStore(sqlitePath);
  const base = { scope: 'org:acme', labels: ['linux'], route: 'small', client: 'ops', job: null, at: T0 };
  await store.insert({ ...base, id: 'd-1', handle: 'h-1' });
  await store.transition('d-1', ['accepted'], 'failed', T0 + 1, { error: 'no capacity' });
  await store.insert({ ...base, id: 'd-2', handle: 'h-2', at: T0 + 2 });
  await store.transition('d-2', ['accepted'], 'registering', T0 + 3, {
    runner: { id: 9, uuid: 'u-9', name: 'r-9' },
  });
  await store.insert({ ...base, id: 'd-3', handle: null, at: T0 + 4 });
  await store.appendDecision({ at: T0 + 1, kind: 'refusal', reason: 'no capacity', dispatch_id: 'd-1' });
  const id = store.storeId;
  await store.close();
  return id;
}

describePostgres('forgejo-fleet store migrate (PostgreSQL)', (db) => {
  /** The test database's URL with `schema` as its search_path, as an operator could write it. */
  async function schemaUrl(): Promise<{ schema: string; url: string }> {
    const schema = await db.schema();
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return { schema, url: url.toString() };
  }

  async function openTarget(schema: string) {
    const store = await db.open({ schema });
    opened.push(store);
    return store;
  }

  it('copies the store named by --from into the database of the --dispatcher config and prints a summary', async () => {
    const storeId = await sqliteFleet();
    const { schema, url } = await schemaUrl();

    const result = await run(
      [
        'store',
        'migrate',
        '--from',
        `sqlite:${sqlitePath}`,
        '--to',
        'postgres',
        '--dispatcher',
        postgresConfig(),
      ],
      { PG_URL: url, FT: 'forgejo-token', OPS: 'ops-token-0123456789abcdef' },
    );

    expect(result).toMatchObject({ code: 0, stderr: `copying sqlite:${sqlitePath} …\n` });
    expect(result.stdout.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^copied sqlite:${sqlitePath} to postgres://127\\.0\\.0\\.1:\\d+/\\S+ \\(row counts checked\\)$`,
        ),
      ),
      `  store id    ${storeId}`,
      '  meta         1',
      '  dispatches   3',
      '  transitions  5',
      '  decisions    1',
      '  warm_vms     0',
      'next: start the dispatchers with this store block (kind: postgres); keep the SQLite file, unused, as the way back',
      '',
    ]);
    expect(result.stdout).not.toContain(url);
    const copy = await openTarget(schema);
    const source = openSqliteStore(sqlitePath);
    opened.push(source);
    expect(copy.storeId).toBe(storeId);
    expect(await copy.listLive()).toEqual(await source.listLive());
    expect((await copy.listLive()).map((r) => r.id).sort()).toEqual(['d-2', 'd-3']);
    expect(await copy.get('d-1')).toEqual(await source.get('d-1'));
  });

  it('reads the URL from --to-url-file, or from FORGEJO_FLEET_STORE_URL', async () => {
    await sqliteFleet();
    const first = await schemaUrl();
    const second = await schemaUrl();
    const urlFile = join(dir, 'pg-url');
    writeFileSync(urlFile, `${first.url}\n`, { mode: 0o600 });
    const base = [
      'store',
      'migrate',
      '--from',
      `sqlite:${sqlitePath}`,
      '--to',
      'postgres',
      '--tls',
      'disable',
    ];

    const fromFile = await run([...base, '--to-url-file', urlFile]);
    const fromEnv = await run(base, { FORGEJO_FLEET_STORE_URL: second.url });

    expect([fromFile.code, fromEnv.code]).toEqual([0, 0]);
    expect((await (await openTarget(first.schema)).listLive()).length).toBe(2);
    expect((await (await openTarget(second.schema)).listLive()).length).toBe(2);
  });

  it('refuses a second copy into the same database and says why (exit 1)', async () => {
    await sqliteFleet();
    const { url } = await schemaUrl();
    const argv = [
      'store',
      'migrate',
      '--from',
      `sqlite:${sqlitePath}`,
      '--to',
      'postgres',
      '--tls',
      'disable',
    ];
    await run(argv, { FORGEJO_FLEET_STORE_URL: url });

    const again = await run(argv, { FORGEJO_FLEET_STORE_URL: url });

    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /forgejo-fleet store migrate: target postgres:\/\/\S+ already holds 3 dispatches, 1 decisions; copy into an empty database/,
    );
  });

  it('refuses while a dispatcher holds the SQLite store (exit 1, the holder named)', async () => {
    await sqliteFleet();
    const running = openSqliteStore(sqlitePath, { lock: { pid: 4242, host: 'fleet-1' } });
    opened.push(running);
    const { url } = await schemaUrl();

    const result = await run(
      ['store', 'migrate', '--from', `sqlite:${sqlitePath}`, '--to', 'postgres', '--tls', 'disable'],
      { FORGEJO_FLEET_STORE_URL: url },
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`is in use by pid 4242 on host fleet-1`);
  });
});

describe('forgejo-fleet store migrate (command line)', () => {
  const from = ['--from', 'sqlite:/nowhere/dispatcher.db'];

  it.each([
    [['store'], 'store needs a subcommand: migrate'],
    [['store', 'copy'], 'unknown subcommand "copy"'],
  ])('%j is a usage error of store: %s', async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(64);
    expect(result.stderr).toContain(`forgejo-fleet store: ${message}`);
  });

  it.each([
    [['store', 'migrate', '--to', 'postgres'], '--from must be sqlite:PATH'],
    [['store', 'migrate', '--from', '/var/lib/d.db', '--to', 'postgres'], '--from must be sqlite:PATH'],
    [['store', 'migrate', ...from, '--to', 'mysql'], '--to must be postgres'],
    [
      ['store', 'migrate', ...from, '--to', 'postgres'],
      'name the target: --dispatcher FILE, --to-url-file FILE or FORGEJO_FLEET_STORE_URL',
    ],
    [
      ['store', 'migrate', ...from, '--to', 'postgres', '--to-url', 'postgres://u:secret@h/db'],
      '--to-url is not accepted: a URL with its password on the command line shows in ps and shell history',
    ],
    [
      ['store', 'migrate', ...from, '--to', 'postgres', '--tls', 'maybe'],
      '--tls must be one of disable, require, verify-full',
    ],
    [
      ['store', 'migrate', ...from, '--to', 'postgres', '--tls', 'require', '--tls-ca-file', 'ca.pem'],
      '--tls-ca-file is only for --tls verify-full',
    ],
    [
      ['store', 'migrate', ...from, '--to', 'postgres', '--dispatcher', 'd.yaml', '--tls', 'disable'],
      '--tls and --dispatcher exclude each other',
    ],
  ])('%j is a usage error naming store migrate: %s', async (argv, message) => {
    const result = await run(argv);

    expect(result.code).toBe(64);
    expect(result.stderr.startsWith(`forgejo-fleet store migrate: ${message}`)).toBe(true);
    expect(result.stderr).not.toContain('secret');
  });

  it('refuses a --dispatcher config still on SQLite: it names the config the dispatchers will start with', async () => {
    const result = await run(
      ['store', 'migrate', ...from, '--to', 'postgres', '--dispatcher', postgresConfig('sqlite')],
      {
        FT: 'forgejo-token',
        OPS: 'ops-token-0123456789abcdef',
      },
    );

    expect(result.code).toBe(64);
    expect(result.stderr).toContain('store.kind is sqlite; pass the config the dispatchers will start with');
  });

  it('exits 2 with the problems of an invalid --dispatcher config', async () => {
    const result = await run(
      ['store', 'migrate', ...from, '--to', 'postgres', '--dispatcher', postgresConfig()],
      {
        FT: 'forgejo-token',
        OPS: 'ops-token-0123456789abcdef',
      },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/store\.url_env.*PG_URL/);
  });

  it('refuses a missing store file before connecting anywhere (exit 1)', async () => {
    const result = await run(['store', 'migrate', '--from', `sqlite:${sqlitePath}`, '--to', 'postgres'], {
      FORGEJO_FLEET_STORE_URL: 'postgres://u@127.0.0.1:1/db',
    });

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `copying sqlite:${sqlitePath} …\nforgejo-fleet store migrate: ${sqlitePath}: no SQLite store there\n`,
    });
  });

  it('prints its help with --help', async () => {
    const result = await run(['store', 'migrate', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: forgejo-fleet store migrate --from sqlite:PATH --to postgres');
    expect(result.stdout).toContain('The URL is never a flag');
  });
});
