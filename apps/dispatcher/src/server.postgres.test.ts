import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DispatcherConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { jobRan } from './__fixtures__/job-ran.js';
import { memoryProvider } from './__fixtures__/memory-provider.js';
import { seedAcme } from './__fixtures__/world-parts.js';
import { createLogger } from './logger.js';
import { type RunningDispatcher, startDispatcher } from './server.js';

const TOKEN = 'server-pg-test-client-token-0123';

/**
 * The wired dispatcher (config → startDispatcher → HTTP) on a real PostgreSQL: the store block
 * is what an operator writes (`kind: postgres`, the URL from the environment), the schema comes
 * through the URL's `options=-c search_path=…` as it would for a shared database.
 */
describePostgres('dispatcher on PostgreSQL', (db) => {
  let forgejo: RunningFakeForgejo;
  let work: string;
  let schema: string;
  let config: DispatcherConfig;
  let cloud: ReturnType<typeof memoryProvider>;
  const running: RunningDispatcher[] = [];

  beforeEach(async () => {
    work = mkdtempSync(join(tmpdir(), 'fleet-server-pg-'));
    forgejo = await startFakeForgejo();
    const { token } = seedAcme(forgejo);
    schema = await db.schema();
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    config = parseDispatcherConfig(
      `
fleet_id: srv-pg
listen: { host: 127.0.0.1, port: 0 }
store: { kind: postgres, url_env: PG_URL, tls: { mode: disable }, decision_log: ${join(work, 'decisions.jsonl')} }
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
      { file: 'srv-pg.yaml', env: { FT: token, CT: TOKEN, PG_URL: url.toString() } },
    );
    cloud = memoryProvider('cloud');
  });

  afterEach(async () => {
    for (const dispatcher of running.splice(0)) await dispatcher.close();
    await forgejo.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function start(): Promise<RunningDispatcher> {
    const dispatcher = await startDispatcher({
      config,
      log: createLogger('silent'),
      providerFor: () => cloud.provider,
      reconcileIntervalMs: 3_600_000,
    });
    running.push(dispatcher);
    return dispatcher;
  }

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

  async function rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await db.sql(sql.replaceAll('$schema', schema))).rows;
  }

  it('dispatch → VM → done through the HTTP API, every step in the PostgreSQL schema', async () => {
    const dispatcher = await start();
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const body = {
      scope: 'org:acme',
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
    };

    const accepted = await api(dispatcher, 'POST', '/v1/dispatch', body);
    const replay = await api(dispatcher, 'POST', '/v1/dispatch', body);
    await dispatcher.service.drain();

    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    expect(((await replay.json()) as { id: string }).id).toBe(id);
    expect(cloud.instances.size).toBe(1);
    const booting = await api(dispatcher, 'GET', `/v1/dispatches/${id}`);
    expect(await booting.json()).toMatchObject({ id, state: 'booting', provider: 'cloud' });
    expect(await rows('SELECT id, state, handle FROM $schema.dispatches')).toEqual([
      { id, state: 'booting', handle: job.handle },
    ]);

    await jobRan(forgejo, config, await dispatcher.store.get(id));
    const [vm] = [...cloud.instances.values()];
    if (vm) cloud.powerOff(vm.id);
    await dispatcher.service.reconcile();

    const done = await api(dispatcher, 'GET', `/v1/dispatches/${id}`);
    expect(await done.json()).toMatchObject({ id, state: 'finished' });
    expect(cloud.instances.size).toBe(0);
    expect(await rows('SELECT state FROM $schema.transitions ORDER BY seq')).toEqual(
      ['accepted', 'registering', 'provisioning', 'booting', 'finished'].map((state) => ({ state })),
    );
    expect(
      await rows("SELECT kind FROM $schema.decisions WHERE kind IN ('create', 'delete') ORDER BY seq"),
    ).toEqual([{ kind: 'create' }, { kind: 'delete' }]);
  });

  it('answers /readyz from the database, and a restarted dispatcher finds the same store and records', async () => {
    const first = await start();
    const ready = await fetch(`${first.url}/readyz`);
    const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const accepted = await api(first, 'POST', '/v1/dispatch', {
      scope: 'org:acme',
      labels: ['linux'],
      job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
    });
    const { id } = (await accepted.json()) as { id: string };
    await first.close();
    running.splice(running.indexOf(first), 1);

    const second = await start();

    expect(ready.status).toBe(200);
    expect(second.store.storeId).toBe(first.store.storeId);
    expect(await rows("SELECT value FROM $schema.meta WHERE key = 'store_id'")).toEqual([
      { value: first.store.storeId },
    ]);
    const again = await api(second, 'GET', `/v1/dispatches/${id}`);
    expect(await again.json()).toMatchObject({ id, state: 'booting' });
    expect(cloud.instances.size).toBe(1);
  });
});
