import { describe, expect, it, vi } from 'vitest';
import { newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { FencedWriteError, InvalidArgumentError } from '../errors.js';
import type { LeaseFence, Store } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

const LONG = 60_000;
/**
 * Lets a lease expire on PostgreSQL's own clock without a long wait; on SQLite the test's clock
 * jumps past it. No case asserts anything while a SHORT lease is still meant to be held.
 */
const SHORT = 100;

/** A store whose bookkeeping clock (SQLite's lease time) the case moves by hand. */
async function clocked(fresh: ReturnType<typeof storesOf>) {
  let now = T0;
  const store = await fresh({ now: () => now });
  return {
    store,
    now: () => now,
    /** Past `ms` on the test's clock, then waits until the store itself sees the lease expired. */
    async expire(name: string, ms: number) {
      now += ms + 1;
      await vi.waitFor(async () => expect((await store.readLease(name, now))?.expired).toBe(true), {
        timeout: 5_000,
        interval: 10,
      });
    },
  };
}

/** The fenced writes a leader makes, each run with `fence` on a store holding one dispatch and one idle warm VM. */
const WRITES: readonly [string, (store: Store, fence: LeaseFence) => Promise<unknown>][] = [
  ['transition', (s, fence) => s.transition('d1', ['accepted'], 'failed', T0 + 5, { error: 'x' }, { fence })],
  ['appendDecision', (s, fence) => s.appendDecision({ at: T0 + 5, kind: 'delete', reason: 'x' }, { fence })],
  [
    'insertWarm',
    (s, fence) =>
      s.insertWarm({ id: 'w2', route: 'small', provider: 'p', secret_hash: 'h', at: T0 }, { fence }),
  ],
  ['updateWarm', (s, fence) => s.updateWarm('w1', ['idle'], 'retired', T0 + 5, { reason: 'x' }, { fence })],
  ['claimWarm', (s, fence) => s.claimWarm('small', 'd1', T0 + 5, undefined, { fence })],
  ['prune', (s, fence) => s.prune(T0 + 10 * LONG, 100, { fence })],
];

async function seed(store: Store): Promise<void> {
  await store.insert(newDispatch('d1'));
  await store.insert(newDispatch('old'));
  await store.transition('old', ['accepted'], 'finished', T0);
  await store.insertWarm({ id: 'w1', route: 'small', provider: 'p', secret_hash: 'h1', at: T0 });
  await store.updateWarm('w1', ['creating'], 'booting', T0, { instance_id: 'i-w1' });
  await store.updateWarm('w1', ['booting'], 'idle', T0 + 1);
}

/** Everything a write could have changed, read back whole. */
async function snapshot(store: Store) {
  return {
    d1: await store.get('d1'),
    old: await store.get('old'),
    decisions: await store.listDecisions({ limit: 1000 }),
    warm: await store.listWarm(),
    w2: await store.getWarm('w2'),
  };
}

/** Leases and fencing: one leader at a time, and a leader that lost its lease writes nothing. */
export function leaseCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);

  describe('leases', () => {
    it('grants a free lease at epoch 1, renews it for its holder and refuses another holder', async () => {
      const { store, now } = await clocked(fresh);
      expect(await store.readLease('leader', now())).toBeUndefined();

      const first = await store.acquireLease('leader', 'a', LONG, now());
      const renewed = await store.acquireLease('leader', 'a', LONG, now());
      const other = await store.acquireLease('leader', 'b', LONG, now());

      expect(first).toMatchObject({ epoch: 1, previousHolder: null });
      expect(renewed).toMatchObject({ epoch: 1, previousHolder: 'a' });
      expect(renewed?.expiresAt).toBeGreaterThanOrEqual(first?.expiresAt ?? Number.POSITIVE_INFINITY);
      expect(other).toBeUndefined();
      expect(await store.readLease('leader', now())).toMatchObject({
        name: 'leader',
        holder: 'a',
        epoch: 1,
        expired: false,
      });
      // The time left by the store's own clock (PostgreSQL: the server's), never more than the TTL.
      const left = (await store.readLease('leader', now()))?.expiresInMs ?? 0;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(LONG);
      // Leases are independent by name.
      expect(await store.acquireLease('other', 'b', LONG, now())).toMatchObject({ epoch: 1 });
    });

    it('passes an expired lease to the next holder with a new epoch', async () => {
      const { store, now, expire } = await clocked(fresh);
      await store.acquireLease('leader', 'a', SHORT, now());
      await expire('leader', SHORT);

      const taken = await store.acquireLease('leader', 'b', LONG, now());

      expect(taken).toMatchObject({ epoch: 2, previousHolder: 'a' });
      expect(await store.acquireLease('leader', 'a', LONG, now())).toBeUndefined();
      expect(await store.readLease('leader', now())).toMatchObject({ holder: 'b', epoch: 2 });
    });

    it('opens a new term when the old holder comes back after its lease expired', async () => {
      const { store, now, expire } = await clocked(fresh);
      await store.acquireLease('leader', 'a', SHORT, now());
      await expire('leader', SHORT);

      expect(await store.acquireLease('leader', 'a', LONG, now())).toMatchObject({
        epoch: 2,
        previousHolder: 'a',
      });
    });

    it('frees a released lease at once, for its holder at its epoch only', async () => {
      const { store, now } = await clocked(fresh);
      const grant = await store.acquireLease('leader', 'a', LONG, now());

      expect(await store.releaseLease('leader', 'b', 1)).toBe(false);
      expect(await store.releaseLease('leader', 'a', 2)).toBe(false);
      expect(await store.releaseLease('leader', 'a', grant?.epoch ?? 0)).toBe(true);
      expect(await store.releaseLease('leader', 'a', grant?.epoch ?? 0)).toBe(false);

      expect(await store.readLease('leader', now())).toMatchObject({
        holder: 'a',
        expired: true,
        expiresInMs: 0,
      });
      expect(await store.acquireLease('leader', 'b', LONG, now())).toMatchObject({
        epoch: 2,
        previousHolder: 'a',
      });
    });

    it('gives a free lease to exactly one of 20 concurrent holders', async () => {
      const { store, now } = await clocked(fresh);

      const grants = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.acquireLease('leader', `h${i}`, LONG, now())),
      );

      const winners = grants.flatMap((grant, i) => (grant === undefined ? [] : [`h${i}`]));
      expect(winners).toHaveLength(1);
      expect(await store.readLease('leader', now())).toMatchObject({ holder: winners[0], epoch: 1 });
    });

    it.each([
      ['an empty name', '', 'a', LONG],
      ['an empty holder', 'leader', '', LONG],
      ['a zero ttl', 'leader', 'a', 0],
      ['a fractional ttl', 'leader', 'a', 1.5],
      ['a ttl over an hour', 'leader', 'a', 3_600_001],
    ] as const)('refuses %s', async (_, name, holder, ttl) => {
      const { store, now } = await clocked(fresh);
      await expect(store.acquireLease(name, holder, ttl, now())).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('fenced writes', () => {
    it.each(WRITES)('%s with the current epoch is written', async (_, write) => {
      const { store, now } = await clocked(fresh);
      await seed(store);
      const grant = await store.acquireLease('leader', 'a', LONG, now());
      const before = await snapshot(store);

      await write(store, { name: 'leader', epoch: grant?.epoch ?? 0 });

      expect(await snapshot(store)).not.toEqual(before);
    });

    it.each(WRITES)(
      '%s by a leader whose lease was taken over is refused and writes nothing',
      async (_, write) => {
        const { store, now, expire } = await clocked(fresh);
        await seed(store);
        const stale = await store.acquireLease('leader', 'a', SHORT, now());
        await expire('leader', SHORT);
        const current = await store.acquireLease('leader', 'b', LONG, now());
        const before = await snapshot(store);

        await expect(write(store, { name: 'leader', epoch: stale?.epoch ?? 0 })).rejects.toThrow(
          FencedWriteError,
        );

        expect(await snapshot(store)).toEqual(before);
        // The new leader's epoch still writes.
        await write(store, { name: 'leader', epoch: current?.epoch ?? 0 });
        expect(await snapshot(store)).not.toEqual(before);
      },
    );

    it.each(WRITES)('%s after the lease expired (nobody took over) is refused', async (_, write) => {
      const { store, now, expire } = await clocked(fresh);
      await seed(store);
      const grant = await store.acquireLease('leader', 'a', SHORT, now());
      await expire('leader', SHORT);
      const before = await snapshot(store);

      await expect(write(store, { name: 'leader', epoch: grant?.epoch ?? 0 })).rejects.toThrow(
        FencedWriteError,
      );

      expect(await snapshot(store)).toEqual(before);
    });

    it('refuses a write fenced by a released lease or one nobody ever held', async () => {
      const { store, now } = await clocked(fresh);
      await seed(store);
      const grant = await store.acquireLease('leader', 'a', LONG, now());
      await store.releaseLease('leader', 'a', grant?.epoch ?? 0);
      const write = WRITES[0]?.[1] ?? (() => Promise.resolve());

      await expect(write(store, { name: 'leader', epoch: 1 })).rejects.toThrow(FencedWriteError);
      await expect(write(store, { name: 'never-held', epoch: 1 })).rejects.toThrow(FencedWriteError);
      expect((await store.get('d1'))?.state).toBe('accepted');
    });

    it('refuses a malformed fence before touching the database', async () => {
      const { store } = await clocked(fresh);
      await seed(store);
      await expect(
        store.transition('d1', ['accepted'], 'failed', T0, {}, { fence: { name: 'leader', epoch: 0 } }),
      ).rejects.toThrow(InvalidArgumentError);
    });
  });
}
