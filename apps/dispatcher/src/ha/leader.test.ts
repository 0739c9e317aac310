import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { FencedWriteError, openSqliteStore, type Store } from '@forgejo-fleet/store';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryProvider } from '../__fixtures__/memory-provider.js';
import { createLogger } from '../logger.js';
import { fencedStore, guardDeletes } from './fencing.js';
import { createLeaderElection, type HaObserver, LEADER_LEASE, LeadershipLostError } from './leader.js';

const TTL = 15_000;
const T0 = Date.UTC(2026, 0, 1);

// SQLite takes the lease's time from the caller, so one virtual clock drives every replica here
// and failover is measured in virtual time. The same rules on PostgreSQL: fencing.pg.test.ts.
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function events() {
  const seen: string[] = [];
  const observer: HaObserver = {
    role: (role) => seen.push(`role:${role}`),
    renewal: (result) => seen.push(`renewal:${result}`),
    failover: () => seen.push('failover'),
    epoch: (epoch) => seen.push(`epoch:${epoch}`),
  };
  return { seen, observer };
}

function world() {
  const clock = virtualClock(T0);
  const store = openSqliteStore(':memory:', { now: () => clock.now() });
  stores.push(store);
  function replica(holder: string) {
    const { seen, observer } = events();
    const election = createLeaderElection({
      store,
      holder,
      ttlMs: TTL,
      renewEveryMs: TTL / 3,
      clock,
      log: createLogger('silent'),
      observer,
    });
    return { election, seen, fenced: fencedStore(store, () => election.fence()) };
  }
  return { clock, store, replica };
}

describe('leader election', () => {
  it('makes one replica leader; the other follows and runs no leader work', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');

    await a.election.renew();
    await b.election.renew();

    expect([a.election.role(), b.election.role()]).toEqual(['leader', 'follower']);
    expect(await a.election.lead(async () => 'ran')).toBe('ran');
    expect(await b.election.lead(async () => 'ran')).toBeUndefined();
    expect(a.seen).toEqual(['role:follower', 'renewal:acquired', 'role:leader', 'epoch:1']);
    expect(b.seen).toEqual(['role:follower', 'renewal:held-elsewhere']);
  });

  it('fails over within one lease TTL of the last renewal, counting a failover', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.election.renew();
    const lastRenewal = w.clock.now();

    // a stops renewing (paused); b tries on its own schedule, every TTL / 3.
    let tookOverAt: number | undefined;
    for (let i = 0; i < 10 && tookOverAt === undefined; i++) {
      w.clock.advance(TTL / 3);
      await b.election.renew();
      if (b.election.role() === 'leader') tookOverAt = w.clock.now();
    }

    expect(tookOverAt).toBeDefined();
    expect((tookOverAt ?? Number.POSITIVE_INFINITY) - lastRenewal).toBeLessThanOrEqual(TTL + TTL / 3);
    expect(b.seen).toContain('failover');
    expect(b.seen).toContain('epoch:2');
    // a learns at its next renewal, and stops.
    await a.election.renew();
    expect(a.election.role()).toBe('follower');
    expect(a.seen.at(-1)).toBe('role:follower');
  });

  it('aborts the running leader work the moment a renewal fails', async () => {
    const w = world();
    let down = false;
    const flaky: Pick<Store, 'acquireLease' | 'releaseLease' | 'readLease'> = {
      acquireLease: (...args) =>
        down ? Promise.reject(new Error('connection reset')) : w.store.acquireLease(...args),
      releaseLease: (...args) => w.store.releaseLease(...args),
      readLease: (...args) => w.store.readLease(...args),
    };
    const { observer, seen } = events();
    const election = createLeaderElection({
      store: flaky,
      holder: 'a',
      ttlMs: TTL,
      renewEveryMs: TTL / 3,
      clock: w.clock,
      log: createLogger('silent'),
      observer,
    });
    await election.renew();
    const work = election.lead(
      (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
    );

    down = true;
    await election.renew();

    expect(await work).toBeInstanceOf(LeadershipLostError);
    expect(election.role()).toBe('follower');
    expect(seen.slice(-2)).toEqual(['renewal:error', 'role:follower']);
    // Back: the lease is still this replica's, so it leads again in the same term.
    down = false;
    await election.renew();
    expect(election.role()).toBe('leader');
    expect(seen).not.toContain('failover');
  });

  it('fences leader writes: a leader past its lease writes nothing once another took over', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await w.store.insert({
      id: 'd1',
      handle: 'h1',
      scope: 'org:acme',
      labels: ['linux'],
      route: 'small',
      client: 'c',
      job: null,
      at: T0,
    });
    await a.election.renew();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stale = a.election.lead(async () => {
      await gate;
      return a.fenced.transition('d1', ['accepted'], 'failed', w.clock.now(), { error: 'stale' });
    });

    w.clock.advance(TTL + 1);
    await b.election.renew();
    release();

    await expect(stale).rejects.toThrow(FencedWriteError);
    expect((await w.store.get('d1'))?.state).toBe('accepted');
    expect(
      await b.election.lead(() => b.fenced.transition('d1', ['accepted'], 'failed', w.clock.now())),
    ).toMatchObject({ state: 'failed' });
    expect(await w.store.readLease(LEADER_LEASE, w.clock.now())).toMatchObject({ holder: 'b', epoch: 2 });
  });

  it('lets leader work delete only while a third of the lease is left; other callers always', async () => {
    const w = world();
    const a = w.replica('a');
    const cloud = memoryProvider('cloud');
    const providerFor = guardDeletes(() => cloud.provider, a.election);
    await a.election.renew();

    expect(providerFor('cloud', '')).toBe(providerFor('cloud', ''));
    await a.election.lead(async () => {
      w.clock.advance((2 * TTL) / 3 - 1);
      await expect(providerFor('cloud', '').delete('i-1')).resolves.toBe('not-found');
      w.clock.advance(2);
      await expect(providerFor('cloud', '').delete('i-2')).rejects.toThrow(LeadershipLostError);
    });
    // An API cancel on any replica is not leader work.
    await expect(providerFor('cloud', '').delete('i-3')).resolves.toBe('not-found');
    expect(cloud.calls.filter((c) => c.verb === 'delete').map((c) => c.arg)).toEqual(['i-1', 'i-3']);
  });
});
