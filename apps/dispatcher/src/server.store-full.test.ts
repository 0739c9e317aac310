import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { openSqliteStore } from '@forgejo-fleet/store';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryProvider } from './__fixtures__/memory-provider.js';
import { seedAcme } from './__fixtures__/world-parts.js';
import { createLogger } from './logger.js';
import { type RunningDispatcher, startDispatcher } from './server.js';

const TOKEN = 'store-full-client-token-0123';

let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher;
let work: string;
let db: Database.Database | undefined;

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-full-'));
  forgejo = await startFakeForgejo();
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: full
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'd.db')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
    { file: 'full.yaml', env: { FT: token, CT: TOKEN } },
  );
  // The real store on a real file, with a size cap on its connection: a true SQLITE_FULL.
  const store = openSqliteStore(config.store.path, {
    lock: true,
    connection: (connection) => {
      db = connection;
    },
  });
  const cloud = memoryProvider('cloud');
  dispatcher = await startDispatcher({
    config,
    store,
    log: createLogger('silent'),
    providerFor: () => cloud.provider,
    reconcileIntervalMs: 3_600_000,
    decisionLogFile: false,
  });
});

afterEach(async () => {
  await dispatcher.close();
  await forgejo.close();
  rmSync(work, { recursive: true, force: true });
});

function dispatch(n: number) {
  return fetch(`${dispatcher.url}/v1/dispatch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scope: 'org:acme', labels: ['linux'], job: job(n) }),
  });
}

function job(n: number) {
  const handle = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return { handle, id: n + 1, attempt: 1, repo_id: 1, owner_id: 1, name: `build ${'x'.repeat(200)}` };
}

describe('a store that cannot take writes (disk full)', () => {
  it('answers 503 with Retry-After and /readyz 503, then recovers without a restart', async () => {
    expect((await fetch(`${dispatcher.url}/readyz`)).status).toBe(200);
    const pages = db?.pragma('page_count', { simple: true }) as number;
    db?.pragma(`max_page_count = ${pages}`);

    const ready = await fetch(`${dispatcher.url}/readyz`);
    let refused: Response | undefined;
    for (let n = 0; n < 100 && refused === undefined; n++) {
      const res = await dispatch(n);
      if (res.status !== 202) refused = res;
    }

    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { store: 'failing' } });
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toBe('5');
    expect(await refused?.json()).toEqual({
      error: { code: 'unavailable', message: 'the store cannot take writes right now; retry later' },
    });

    // Space is back.
    db?.pragma(`max_page_count = ${pages * 100}`);

    expect((await fetch(`${dispatcher.url}/readyz`)).status).toBe(200);
    expect((await dispatch(1000)).status).toBe(202);
    await dispatcher.service.drain();
  });
});
