import type { Clock } from '@forgejo-fleet/runtime';
import { fakeClock, flush, virtualClock } from '@forgejo-fleet/runtime/testing';
import { openSqliteStore, type Store } from '@forgejo-fleet/store';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createLeaderElection, LEADER_LEASE, LeadershipLostError } from './leader.js';

const TTL = 15_000;
const T0 = Date.UTC(2026, 0, 1);

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

type TestClock = Clock & { advance(ms: number): void };

/**
 * One SQLite store; `calls` lists the lease calls each replica makes. The default clock's sleeps
 * return at once, so a test of the renewal loop passes a clock whose sleeps wait to be moved.
 */
function world(clock: TestClock = virtualClock(T0)) {
  const store = openSqliteStore(':memory:', { now: () => clock.now() });
  stores.push(store);
  const calls: string[] = [];
  let failRelease = false;
  function replica(holder: string) {
    return createLeaderElection({
      store: {
        acquireLease: (...args) => {
          calls.push(`acquire:${holder}`);
          return store.acquireLease(...args);
        },
        releaseLease: (...args) => {
          calls.push(`release:${holder}`);
          return failRelease ? Promise.reject(new Error('connection reset')) : store.releaseLease(...args);
        },
        readLease: (...args) => store.readLease(...args),
      },
      holder,
      ttlMs: TTL,
      renewEveryMs: TTL / 3,
      clock,
      log: createLogger('silent'),
    });
  }
  return {
    clock,
    store,
    calls,
    replica,
    failReleases() {
      failRelease = true;
    },
  };
}

describe('leader terms', () => {
  it('leader work started by leader work runs in the same term and stops with it', async () => {
    const w = world();
    const a = w.replica('a');
    await a.renew();
    const outer = new AbortController();

    const seen = await a.lead(async () => {
      const fence = a.fence();
      const inner = await a.lead(async (signal) => ({ fence: a.fence(), signal }), outer.signal);
      return { fence, inner };
    });

    expect(seen?.fence).toEqual({ name: LEADER_LEASE, epoch: 1 });
    expect(seen?.inner?.fence).toEqual(seen?.fence);
    // The inner work's signal follows both the caller's signal and the term.
    expect(seen?.inner?.signal.aborted).toBe(false);
    outer.abort();
    expect(seen?.inner?.signal.aborted).toBe(true);
  });

  it('leader work started by leader work past the lease does not run', async () => {
    const w = world();
    const a = w.replica('a');
    await a.renew();
    let innerRan = false;

    const result = await a.lead(async () => {
      w.clock.advance(TTL);
      return a.lead(async () => {
        innerRan = true;
        return 'ran';
      });
    });

    expect(result).toBeUndefined();
    expect(innerRan).toBe(false);
  });

  it('work of a term that ended may not delete; its signal carries the reason', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.renew();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const work = a.lead(async (signal) => {
      await gate;
      return { verdict: a.mayDelete(), reason: signal.reason as unknown };
    });

    w.clock.advance(TTL + 1);
    await b.renew();
    await a.renew(); // a learns another replica holds the lease: its term ends
    release();

    const seen = await work;
    expect(seen?.verdict).toEqual({ ok: false, reason: 'this replica is no longer the leader of that term' });
    expect(seen?.reason).toBeInstanceOf(LeadershipLostError);
    expect(String((seen?.reason as Error | undefined)?.message)).toMatch(/another replica holds the lease/);
    expect([a.role(), b.role()]).toEqual(['follower', 'leader']);
  });

  it('start twice runs one renewal loop; stop releases the lease so another replica leads at once', async () => {
    const timed = fakeClock(T0);
    const w = world({ ...timed.clock, advance: (ms) => void timed.advance(ms) });
    const a = w.replica('a');
    const b = w.replica('b');

    a.start();
    a.start();
    for (let i = 0; i < 50 && a.role() !== 'leader'; i++) await new Promise((r) => setImmediate(r));
    expect(a.role()).toBe('leader');
    expect(w.calls).toEqual(['acquire:a']);

    await a.stop();
    await b.renew();

    expect(w.calls).toEqual(['acquire:a', 'release:a', 'acquire:b']);
    expect([a.role(), b.role()]).toEqual(['follower', 'leader']);
  });

  it("a follower tries again the moment the leader's lease runs out, not up to a renewal period later", async () => {
    const timed = fakeClock(T0);
    const w = world({ ...timed.clock, advance: (ms) => void timed.advance(ms) });
    const a = w.replica('a');
    const b = w.replica('b');
    await a.renew(); // a leads from T0, then dies: it never renews again
    await timed.advance(TTL / 6); // b starts off a's rhythm: its own tries would come at TTL/6 + k·TTL/3
    b.start();
    await flush();
    expect(b.role()).toBe('follower');

    await timed.advance(TTL - TTL / 6 - 1); // 1 ms before a's lease runs out
    expect(b.role()).toBe('follower');
    await timed.advance(50); // TTL + 49 ms after a's last renewal (a fixed TTL/3 rhythm: TTL + TTL/6)
    expect(b.role()).toBe('leader');
    await b.stop();
  });

  it('a failed release on stop leaves the lease to run out: another replica leads after one TTL', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.renew();
    w.failReleases();

    await expect(a.stop()).resolves.toBeUndefined();
    expect(a.role()).toBe('follower');
    expect(await a.lead(async () => 'ran')).toBeUndefined();

    await b.renew();
    expect(b.role()).toBe('follower');
    w.clock.advance(TTL);
    await b.renew();
    expect(b.role()).toBe('leader');
    expect(await w.store.readLease(LEADER_LEASE, w.clock.now())).toMatchObject({ holder: 'b', epoch: 2 });
  });

  it('stop on a replica that never led releases nothing', async () => {
    const w = world();
    const a = w.replica('a');
    const b = w.replica('b');
    await a.renew();
    await b.renew();

    await b.stop();

    expect(w.calls).toEqual(['acquire:a', 'acquire:b']);
    expect(a.role()).toBe('leader');
  });
});
