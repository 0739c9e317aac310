import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import type { Store } from '@forgejo-fleet/store';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openProcessStore, startDispatcherProcess } from './processes.js';
import { virtualClock } from './virtual-clock.js';

let dir: string;
const opened: Store[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chaos-store-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(store: string, env: Record<string, string> = {}) {
  return parseDispatcherConfig(
    `
fleet_id: chaos
store: ${store}
forgejo: { api_url: 'http://127.0.0.1:9', instance_url: 'http://127.0.0.1:9', token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: linux, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: autoscaler, token_env: CT, scopes: ['*'] }
`,
    { file: 'chaos.yaml', env: { FT: 'forgejo-token', CT: 'client-token-0123456789', ...env } },
  );
}

function processDeps(cfg: ReturnType<typeof config>, store?: Store) {
  const time = virtualClock();
  return {
    time,
    crash: () => undefined,
    activity: () => undefined,
    beforeRegister: () => undefined,
    config: cfg,
    providers: new Map(),
    onReconcileRequest: () => undefined,
    generation: 1,
    ...(store === undefined ? {} : { store }),
  };
}

describePostgres('chaos processes honour store.kind', (db) => {
  it('opens the PostgreSQL database a postgres config names, and two dispatcher processes share it', async () => {
    const schema = await db.schema();
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const cfg = config('{ kind: postgres, url_env: PG_URL, tls: { mode: disable } }', {
      PG_URL: url.toString(),
    });

    const stores = [await openProcessStore(cfg), await openProcessStore(cfg)];
    opened.push(...stores);
    const [first, second] = stores.map((store) => startDispatcherProcess(processDeps(cfg, store)));
    await first?.store.insert({
      id: 'd1',
      handle: 'h1',
      scope: 'org:acme',
      labels: ['linux'],
      route: 'linux',
      client: 'autoscaler',
      job: null,
      at: 0,
    });

    const { rows } = await db.sql(`SELECT value FROM ${schema}.meta WHERE key = 'store_id'`);
    expect(rows).toEqual([{ value: first?.store.storeId }]);
    expect(second?.store.storeId).toBe(first?.store.storeId);
    expect((await second?.store.getByHandle('h1'))?.id).toBe('d1');
  });

  it('refuses to start a dispatcher process of a postgres config without its store (never a SQLite file instead)', () => {
    const cfg = config('{ kind: postgres, url_env: PG_URL, tls: { mode: disable } }', { PG_URL: db.url });

    expect(() => startDispatcherProcess(processDeps(cfg))).toThrow(
      'store.kind postgres: open it with openProcessStore(config) and pass it as store',
    );
  });
});

it('opens the SQLite file of a sqlite config, as before', async () => {
  const path = join(dir, 'chaos.db');
  const cfg = config(`{ path: ${path} }`);

  const store = await openProcessStore(cfg);
  opened.push(store);
  const proc = startDispatcherProcess(processDeps(cfg, store));

  expect('path' in proc.store && proc.store.path).toBe(path);
});
