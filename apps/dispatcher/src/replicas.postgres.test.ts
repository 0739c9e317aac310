import { describePostgres } from '@forgejo-fleet/store/testing';
import { expect, it } from 'vitest';
import { postgresDispatchers } from './__fixtures__/postgres-dispatchers.js';
import type { RunningDispatcher } from './server.js';

/**
 * Several dispatchers on one PostgreSQL database, each a wired server with its own connection
 * pool, as replicas behind a load balancer: the accept-time limits hold across all of them.
 */
describePostgres('dispatcher replicas on one PostgreSQL', (db) => {
  const fleet = postgresDispatchers(db, {
    fleetId: 'replicas',
    poolMax: 4,
    fleet: `
limits: { max_vms: 100 }
providers:
  cloud: { kind: shell, command: [/bin/false], max_instances: 100, create_concurrency: 50 }
routes:
  - { name: small, labels: [linux], providers: [cloud], limits: { max_vms: 5 } }
`,
  });

  it('3 replicas, a route with max_vms 5, 50 concurrent dispatches spread over them: exactly 5 accepted', async () => {
    const replicas = [await fleet.start(), await fleet.start(), await fleet.start()];
    const jobs = Array.from({ length: 50 }, () =>
      fleet.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] }),
    );

    const answers = await Promise.all(
      jobs.map(async (job, i) => {
        const res = await fleet.dispatch(replicas[i % 3] as RunningDispatcher, job);
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
    const live = await fleet.rows(
      "SELECT count(*)::integer AS n FROM $schema.dispatches WHERE state NOT IN ('finished', 'failed', 'cancelled')",
    );
    expect(live).toEqual([{ n: 5 }]);
    expect(fleet.cloud.instances.size).toBe(5);
    const refusals = await fleet.rows(
      "SELECT count(*)::integer AS n FROM $schema.decisions WHERE kind = 'refusal'",
    );
    expect(refusals).toEqual([{ n: 45 }]);
  });
});
