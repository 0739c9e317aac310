import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACME_CI_TOKEN, dispatcherHarness } from './__fixtures__/harness.js';
import { memoryProvider } from './__fixtures__/memory-provider.js';
import { seedAcme } from './__fixtures__/world-parts.js';
import { createLogger } from './logger.js';
import { type RunningDispatcher, startDispatcher } from './server.js';

const CLIENT = 'ops-test-client-token-0123456';
const OPS = 'ops-test-ops-token-0123456789';

let forgejo: RunningFakeForgejo;
let dispatcher: RunningDispatcher | undefined;
let work: string;
let logText: string;

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-ops-'));
  forgejo = await startFakeForgejo();
  logText = '';
});
afterEach(async () => {
  await dispatcher?.close();
  dispatcher = undefined;
  await forgejo.close();
  rmSync(work, { recursive: true, force: true });
});

async function start(extra: string) {
  const { token } = seedAcme(forgejo);
  const config = parseDispatcherConfig(
    `
fleet_id: ops
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'd.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
${extra}
`,
    { file: 'ops.yaml', env: { FT: token, CT: CLIENT, OPS } },
  );
  const cloud = memoryProvider('cloud');
  const log = createLogger(
    'info',
    new Writable({
      write(chunk, _enc, done) {
        logText += String(chunk);
        done();
      },
    }),
  );
  dispatcher = await startDispatcher({
    config,
    log,
    providerFor: () => cloud.provider,
    reconcileIntervalMs: 3_600_000,
  });
  return dispatcher;
}

async function get(base: string | undefined, path: string, token?: string) {
  const res = await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.text() };
}

describe('ops listener', () => {
  it('serves /healthz, /readyz and /metrics there, and 404 on the API listener', async () => {
    const d = await start('ops: { listen: { host: 127.0.0.1, port: 0 }, token_env: OPS }');

    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await get(d.url, path, OPS)).status, `API ${path}`).toBe(404);
    }
    expect((await get(d.opsUrl, '/healthz')).status).toBe(200);
    expect(await get(d.opsUrl, '/readyz')).toMatchObject({ status: 401 });
    expect(await get(d.opsUrl, '/metrics', CLIENT)).toMatchObject({ status: 401 });
    expect(await get(d.opsUrl, '/readyz', OPS)).toMatchObject({ status: 200 });
    const metrics = await get(d.opsUrl, '/metrics', OPS);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('forgejo_fleet_');
    // The dispatch API itself stays on the API listener.
    expect((await get(d.opsUrl, '/v1/routes', CLIENT)).status).toBe(404);
    expect((await get(d.url, '/v1/routes', CLIENT)).status).toBe(200);
  });

  it('without ops.listen, an ops token guards /readyz and /metrics on the API listener', async () => {
    const d = await start('ops: { token_env: OPS }');

    expect(d.opsUrl).toBeUndefined();
    expect((await get(d.url, '/healthz')).status).toBe(200);
    expect((await get(d.url, '/metrics')).status).toBe(401);
    expect((await get(d.url, '/readyz', CLIENT)).status).toBe(401);
    expect((await get(d.url, '/metrics', OPS)).status).toBe(200);
    expect((await get(d.url, '/readyz', OPS)).status).toBe(200);
  });

  it('without an ops section, all three stay open on the API listener (as before)', async () => {
    const d = await start('');
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await get(d.url, path)).status).toBe(200);
  });
});

describe('agent.allow_insecure_http', () => {
  it('is warned about at every start', async () => {
    await start(
      'agent: { listen: { port: 0 }, public_url: "http://10.0.0.5:8081", allow_insecure_http: true }',
    );
    expect(logText).toMatch(
      /"level":40.*agent\.allow_insecure_http: warm VMs fetch their runner tokens over plain http/,
    );
  });

  it('is not warned about for https', async () => {
    await start('agent: { listen: { port: 0 }, public_url: "https://fleet.example.com" }');
    expect(logText).not.toContain('allow_insecure_http');
  });
});

describe('/readyz', () => {
  it('says which check fails but never echoes the upstream error text', async () => {
    const h = await dispatcherHarness();
    try {
      h.forgejo.injectFault({ path: /jobs/, status: 500 });

      const res = await h.app.request('/readyz');
      const text = await res.text();

      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({
        status: 'not ready',
        role: 'leader',
        checks: { store: 'ok', forgejo: 'failing' },
      });
      // The detail (the Forgejo API's URL and answer) is for the operator's log only.
      expect(h.logs()).toContain('readiness check failing');
      expect(h.logs()).toContain('500');
      expect(text).not.toContain('500');
    } finally {
      await h.close();
    }
  });
});

describe('POST /v1/reconcile', () => {
  it('refuses a client without "*" and asks for nothing', async () => {
    const h = await dispatcherHarness();
    try {
      const res = await h.request('POST', '/v1/reconcile', { reason: 'loop' }, ACME_CI_TOKEN);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'forbidden' } });
    } finally {
      await h.close();
    }
  });
});
