import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createProvider } from '@forgejo-fleet/providers';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import type { Store } from '@forgejo-fleet/store';
import { describePostgres } from '@forgejo-fleet/store/testing';
import {
  type RunningFakeForgejo,
  type RunningFakeHetzner,
  startFakeForgejo,
  startFakeHetzner,
} from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { seedAcme } from '../../__fixtures__/world-parts.js';
import { fencedStore, guardDeletes } from '../../ha/fencing.js';
import { createLeaderElection } from '../../ha/leader.js';
import { createLogger } from '../../logger.js';
import { forgejoClients } from '../../wiring.js';
import { createDispatchService } from '../service.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };
const MINUTE = 60_000;
/** The lease runs on the database server's real clock: long enough that no renewal is needed mid-test. */
const TTL = 60_000;

/**
 * Two dispatchers on one PostgreSQL schema with paid-hour reuse on a fake Hetzner: the server a
 * leader kept sits on its desk and, after a handover, on the new leader's desk too. Whatever the
 * replicas' desks say, a kept server is claimed by exactly one dispatch.
 */
describePostgres('paid-hour reuse across replicas', (db) => {
  let forgejo: RunningFakeForgejo;
  let hetzner: RunningFakeHetzner;
  const stores: Store[] = [];
  const clock = virtualClock(Date.parse('2026-11-23T10:00:00Z'));

  beforeEach(async () => {
    forgejo = await startFakeForgejo();
    hetzner = await startFakeHetzner({ now: clock.now, rateLimit: false });
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await hetzner.close();
    await forgejo.close();
  });

  it('a kept server on two desks (old and new leader) is taken by exactly one dispatch', async () => {
    const { token } = seedAcme(forgejo);
    const config = parseDispatcherConfig(
      `
fleet_id: hz
forgejo: { api_url: ${forgejo.url}, instance_url: https://git.example.com, token_env: FT, timeout: 5s }
providers:
  hetzner: { kind: hetzner, endpoint: ${hetzner.url}, token_env: HT, server_types: [cpx22], locations: [fsn1], image: ubuntu-24.04 }
routes:
  - name: small
    labels: [linux]
    providers: [hetzner]
    reuse: { paid_hour: true, min_left: 10m }
scopes:
  org:acme: {}
clients:
  - { name: autoscaler, token_env: CT, scopes: ['*'] }
`,
      { file: 'hz.yaml', env: { FT: token, HT: hetzner.token, CT: 'client-token-0123456789' } },
    );
    const hz = config.providers.hetzner;
    if (hz === undefined) throw new Error('no provider');
    const schema = await db.schema();
    let ids = 0;
    const replica = async (holder: string) => {
      const store = await db.open({ schema });
      stores.push(store);
      const log = createLogger('silent');
      const election = createLeaderElection({ store, holder, ttlMs: TTL, renewEveryMs: TTL / 4, clock, log });
      const provider = createProvider('hetzner', hz, undefined, { clock });
      const service = createDispatchService({
        config,
        store: fencedStore(store, () => election.fence()),
        clock,
        newId: () => `d${String(++ids).padStart(12, '0')}`,
        log,
        forgejoFor: forgejoClients(config),
        providerFor: guardDeletes(() => provider, election),
        leadership: election,
      });
      return { election, service };
    };
    const a = await replica('a');
    const b = await replica('b');
    const store = stores[0] as Store;
    async function dispatch(on: typeof a) {
      const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
      const request = {
        scope: 'org:acme',
        labels: ['linux'],
        job: { handle: job.handle, id: job.id, attempt: job.attempt, repo_id: 1, owner_id: 1, name: 'build' },
      };
      return { job, record: (await on.service.dispatch(request, CALLER)).record };
    }

    // A leads; its first job ends cleanly and A keeps the server on its desk.
    await a.election.renew();
    await b.election.renew();
    expect([a.election.role(), b.election.role()]).toEqual(['leader', 'follower']);
    const first = await dispatch(a);
    await a.service.drain();
    const server = (await store.get(first.record.id))?.instance_id ?? '';
    clock.advance(5 * MINUTE);
    forgejo.cancelJob(first.job.handle);
    hetzner.setStatus(Number(server), 'off');
    await a.election.renew(); // its clock moved: the leader renews before its next pass
    await a.service.reconcile();
    await a.service.drain();
    expect((await store.get(first.record.id))?.state).toBe('finished');

    // A hands the lease over (a graceful stop); B leads and its pass puts the server on its desk.
    await a.election.stop();
    await b.election.renew();
    expect([a.election.role(), b.election.role()]).toEqual(['follower', 'leader']);
    await b.service.reconcile();
    await b.service.drain();

    // Two jobs at once, one on each replica: only the leader's may take the kept server.
    const [onA, onB] = await Promise.all([dispatch(a), dispatch(b)]);
    await Promise.all([a.service.drain(), b.service.drain()]);
    const byA = await store.get(onA.record.id);
    const byB = await store.get(onB.record.id);
    expect(byB).toMatchObject({ state: 'booting', instance_id: server });
    expect(byA?.state).toBe('booting');
    expect(byA?.instance_id).not.toBe(server);

    // B stops; A leads again with its old desk, which still offers the server B's dispatch runs
    // on: A's next job must not take it.
    await b.election.stop();
    await a.election.renew();
    expect(a.election.role()).toBe('leader');
    const again = await dispatch(a);
    await a.service.drain();
    const third = await store.get(again.record.id);
    expect(third?.state).toBe('booting');
    expect(third?.instance_id).not.toBe(server);

    const onServer = (await store.listLive()).filter((r) => r.instance_id === server);
    expect(onServer.map((r) => r.id)).toEqual([onB.record.id]);
    const reuses = (await store.listDecisions({ limit: 100 })).filter(
      (d) => d.kind === 'reuse' && d.reason.startsWith('reused server'),
    );
    expect(reuses.map((d) => d.dispatch_id)).toEqual([onB.record.id]);
  });
});
