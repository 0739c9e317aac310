import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DispatcherConfig, parseDispatcherConfig } from '@forgejo-fleet/config';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryProvider } from './__fixtures__/memory-provider.js';
import { seedAcme } from './__fixtures__/world-parts.js';
import { createLogger } from './logger.js';
import { type RunningDispatcher, startDispatcher } from './server.js';

const TOKEN = 'replicas-pg-test-client-token-0123';

/**
 * Several dispatchers on one PostgreSQL database, each a wired server with its own connection
 * pool, as replicas behind a load balancer: the accept-time limits hold across all of them.
 */
describePostgres('dispatcher replicas on one PostgreSQL', (db) => {
  let forgejo: RunningFakeForgejo;
  let work: string;
  let schema: string;
  let config: DispatcherConfig;
  let cloud: ReturnType<typeof memoryProvider>;
  const running: RunningDispatcher[] = [];

  beforeEach(async () => {
    work = mkdtempSync(join(tmpdir(), 'fleet-replicas-pg-'));
    forgejo = await startFakeForgejo();
    const { token } = seedAcme(forgejo);
    schema = await db.schema();
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    config = parseDispatcherConfig(
      `
fleet_id: replicas
listen: { host: 127.0.0.1, port: 0 }
store: { kind: postgres, url_env: PG_URL, tls: { mode: disable }, pool_max: 4, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FT }
limits: { max_vms: 100 }
providers:
  cloud: { kind: shell, command: [/bin/false], max_instances: 100, create_concurrency: 50 }
routes:
  - { name: small, labels: [linux], providers: [cloud], limits: { max_vms: 5 } }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
      { file: 'replicas.yaml', env: { FT: token, CT: TOKEN, PG_URL: url.toString() } },
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

  function dispatch(dispatcher: RunningDispatcher, job: { handle: string; id: number }) {
    return fetch(`${dispatcher.url}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: 1, repo_id: 1, owner_id: 1, name: 'build' },
      }),
    });
  }

  it('3 replicas, a route with max_vms 5, 50 concurrent dispatches spread over them: exactly 5 accepted', async () => {
    const replicas = [await start(), await start(), await start()];
    const jobs = Array.from({ length: 50 }, () =>
      forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] }),
    );

    const answers = await Promise.all(
      jobs.map(async (job, i) => {
        const res = await dispatch(replicas[i % 3] as RunningDispatcher, job);
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
      }),
    );
    for (const replica of replicas) await replica.service.drain();

    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(45);
    for (const answer of refused) {
      expect(answer.retryAfter).toBe('30');
      expect(answer.body).toMatchObject({
        error: {
          code: 'limit_reached',
          message: 'route small is at its limit of 5 live VMs',
          details: { limit: 'routes.limits.max_vms', route: 'small', live: 5 },
        },
      });
    }
    const live = await db.sql(
      `SELECT count(*)::integer AS n FROM ${schema}.dispatches WHERE state NOT IN ('finished', 'failed', 'cancelled')`,
    );
    expect(live.rows).toEqual([{ n: 5 }]);
    expect(cloud.instances.size).toBe(5);
    const refusals = await db.sql(
      `SELECT count(*)::integer AS n FROM ${schema}.decisions WHERE kind = 'refusal'`,
    );
    expect(refusals.rows).toEqual([{ n: 45 }]);
  });
});
