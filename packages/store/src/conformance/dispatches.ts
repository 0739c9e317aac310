import { describe, expect, it } from 'vitest';
import { job, newDispatch, T0 } from '../__fixtures__/dispatch.js';
import { DispatchConflictError, InvalidArgumentError, StoreClosedError } from '../errors.js';
import type { DispatchState } from '../types.js';
import { type StoreBackend, storesOf } from './backend.js';

/** insert, get, getByHandle, transition, listLive, ping and close: the record and its history. */
export function dispatchCases(backend: StoreBackend): void {
  const fresh = storesOf(backend);
  describe('insert and read', () => {
    it('round-trips every field and records the initial transition', async () => {
      const store = await fresh();
      const input = newDispatch('d1', { labels: ['linux', 'large'], route: 'big', scope: 'repo:acme/app' });

      const { record, created } = await store.insert(input);

      expect(created).toBe(true);
      expect(record).toEqual({
        id: 'd1',
        handle: 'h-d1',
        scope: 'repo:acme/app',
        labels: ['linux', 'large'],
        route: 'big',
        client: 'autoscaler',
        job: job('h-d1'),
        state: 'accepted',
        runner: null,
        provider: null,
        instance_id: null,
        error: null,
        machine: null,
        hourly_price: null,
        retries: 0,
        created_at: T0,
        updated_at: T0,
        transitions: [{ state: 'accepted', at: T0 }],
      });
      expect(await store.get('d1')).toEqual(record);
      expect(await store.getByHandle('h-d1')).toEqual(record);
    });

    it('answers undefined for unknown ids and handles', async () => {
      const store = await fresh();

      expect(await store.get('nope')).toBeUndefined();
      expect(await store.getByHandle('nope')).toBeUndefined();
    });

    it('stores only the declared job fields', async () => {
      const store = await fresh();
      const noisy = { ...job('h1'), extra: 'ignored' };

      const { record } = await store.insert(newDispatch('d1', { handle: 'h1', job: noisy }));

      expect(record.job).toEqual(job('h1'));
    });
  });

  describe('insert is idempotent on handle', () => {
    it('returns the existing record with created:false on a sequential duplicate', async () => {
      const store = await fresh();
      const first = await store.insert(newDispatch('d1', { handle: 'h' }));

      const second = await store.insert(newDispatch('d2', { handle: 'h', route: 'other', at: T0 + 5 }));

      expect(second).toEqual({ record: first.record, created: false });
      expect(await store.get('d2')).toBeUndefined();
    });

    it('creates exactly one record from 100 parallel inserts of one handle', async () => {
      const store = await fresh();
      const ids = Array.from({ length: 100 }, (_, i) => `d${i}`);

      const results = await Promise.all(ids.map((id) => store.insert(newDispatch(id, { handle: 'same' }))));

      const created = results.filter((result) => result.created);
      expect(created).toHaveLength(1);
      const winner = created[0]?.record.id;
      expect(results.filter((result) => !result.created)).toHaveLength(99);
      expect(new Set(results.map((result) => result.record.id))).toEqual(new Set([winner]));
      expect((await store.list({ limit: 500 })).items).toHaveLength(1);
    });

    it('lets any number of dispatches without a handle coexist', async () => {
      const store = await fresh();

      const results = await Promise.all(
        ['m1', 'm2', 'm3'].map((id) => store.insert(newDispatch(id, { handle: null }))),
      );

      expect(results.map((result) => result.created)).toEqual([true, true, true]);
      expect(results.map((result) => result.record.handle)).toEqual([null, null, null]);
      expect(results.map((result) => result.record.job)).toEqual([null, null, null]);
    });

    it('treats a replay of the same id and handle as the duplicate it is', async () => {
      const store = await fresh();
      const first = await store.insert(newDispatch('d1'));

      expect(await store.insert(newDispatch('d1'))).toEqual({ record: first.record, created: false });
    });

    it.each([
      ['another handle', 'other'],
      ['no handle', null],
    ])('refuses an existing id with %s, writing nothing', async (_name, handle) => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));

      await expect(store.insert(newDispatch('d1', { handle }))).rejects.toBeInstanceOf(DispatchConflictError);
      expect(handle === null ? undefined : await store.getByHandle(handle)).toBeUndefined();
      expect((await store.list({ limit: 10 })).items).toHaveLength(1);
    });
  });

  describe('transition', () => {
    it('moves through the lifecycle, timestamping each step in order', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      const steps: DispatchState[] = ['registering', 'provisioning', 'booting', 'running', 'finished'];

      let previous: DispatchState = 'accepted';
      for (const [i, to] of steps.entries()) {
        const record = await store.transition('d1', [previous], to, T0 + (i + 1) * 1000);
        expect(record?.state).toBe(to);
        previous = to;
      }

      const record = await store.get('d1');
      expect(record?.transitions).toEqual([
        { state: 'accepted', at: T0 },
        { state: 'registering', at: T0 + 1000 },
        { state: 'provisioning', at: T0 + 2000 },
        { state: 'booting', at: T0 + 3000 },
        { state: 'running', at: T0 + 4000 },
        { state: 'finished', at: T0 + 5000 },
      ]);
      expect(record?.updated_at).toBe(T0 + 5000);
      expect(record?.created_at).toBe(T0);
    });

    it('keeps the order of writes even when a later write carries an earlier clock', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1', { at: T0 + 100 }));

      const record = await store.transition('d1', ['accepted'], 'registering', T0 + 50);

      expect(record?.transitions.map((t) => t.state)).toEqual(['accepted', 'registering']);
      expect(record?.transitions[1]?.at).toBe(T0 + 50);
      expect(record?.updated_at).toBe(T0 + 100);
    });

    it('lets exactly one of two racing compare-and-sets win', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));

      const results = await Promise.all([
        store.transition('d1', ['accepted'], 'registering', T0 + 1),
        store.transition('d1', ['accepted'], 'cancelled', T0 + 1, { error: 'handle left the queue' }),
      ]);

      expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      const record = await store.get('d1');
      expect(record?.transitions).toHaveLength(2);
      expect(record?.state).toBe(results.find((result) => result !== undefined)?.state);
    });

    it.each([
      ['a state not in from', ['registering'], 'provisioning'],
      ['an empty from', [], 'registering'],
    ] as const)('returns undefined and writes nothing for %s', async (_name, from, to) => {
      const store = await fresh();
      const { record: before } = await store.insert(newDispatch('d1'));

      const result = await store.transition('d1', from, to, T0 + 1, { provider: 'p', reason: 'r' });

      expect(result).toBeUndefined();
      expect(await store.get('d1')).toEqual(before);
    });

    it('returns undefined for an unknown dispatch', async () => {
      const store = await fresh();

      expect(await store.transition('ghost', ['accepted'], 'registering', T0)).toBeUndefined();
    });

    it('leaves a terminal state only when from names it', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      await store.transition('d1', ['accepted'], 'failed', T0 + 1, { error: 'no capacity' });

      const refused = await store.transition('d1', ['accepted', 'registering'], 'registering', T0 + 2);
      const repaired = await store.transition('d1', ['failed'], 'cancelled', T0 + 3, { reason: 'operator' });

      expect(refused).toBeUndefined();
      expect(repaired?.state).toBe('cancelled');
      expect(repaired?.transitions.at(-1)).toEqual({ state: 'cancelled', at: T0 + 3, reason: 'operator' });
    });

    it('applies only the patch fields present, null clearing one', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      const runner = { id: 9, uuid: 'u-9', name: 'ff-d1' };

      const registered = await store.transition('d1', ['accepted'], 'registering', T0 + 1, {
        runner,
        reason: 'registered',
      });
      const provisioning = await store.transition('d1', ['registering'], 'provisioning', T0 + 2, {
        provider: 'hetzner-fsn',
        instance_id: 'i-1',
      });
      const failed = await store.transition('d1', ['provisioning'], 'failed', T0 + 3, {
        instance_id: null,
        error: 'capacity',
      });

      expect(registered).toMatchObject({ runner, provider: null, instance_id: null, error: null });
      expect(provisioning).toMatchObject({
        runner,
        provider: 'hetzner-fsn',
        instance_id: 'i-1',
        error: null,
      });
      expect(failed).toMatchObject({ runner, provider: 'hetzner-fsn', instance_id: null, error: 'capacity' });
      expect(failed?.transitions.map((t) => t.reason)).toEqual([
        undefined,
        'registered',
        undefined,
        undefined,
      ]);
    });

    it('treats an explicit undefined like an absent field', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      await store.transition('d1', ['accepted'], 'registering', T0 + 1, { provider: 'aws-eu' });
      const patch = { provider: undefined } as unknown as { provider: string };

      const record = await store.transition('d1', ['registering'], 'provisioning', T0 + 2, patch);

      expect(record?.provider).toBe('aws-eu');
    });

    it.each([
      ['to', () => ['d1', ['accepted'], 'exploded', T0]],
      ['from.1', () => ['d1', ['accepted', 'nope'], 'failed', T0]],
      ['at', () => ['d1', ['accepted'], 'failed', 1.5]],
    ])('rejects a bad %s before writing', async (field, args) => {
      const store = await fresh();
      const { record: before } = await store.insert(newDispatch('d1'));
      const [id, from, to, at] = args() as [string, DispatchState[], DispatchState, number];

      await expect(store.transition(id, from, to, at)).rejects.toMatchObject({
        name: 'InvalidArgumentError',
        field,
      });
      expect(await store.get('d1')).toEqual(before);
    });
  });

  describe('lifecycle of the store', () => {
    it('pings while open, and closes idempotently', async () => {
      const store = await fresh();

      expect(await store.ping()).toBe(true);
      await store.close();
      await store.close();

      expect(await store.ping()).toBe(false);
      await expect(store.get('d1')).rejects.toBeInstanceOf(StoreClosedError);
      await expect(store.insert(newDispatch('d1'))).rejects.toBeInstanceOf(StoreClosedError);
    });

    it('rejects an insert time that is not integer milliseconds', async () => {
      const store = await fresh();

      await expect(store.insert(newDispatch('d1', { at: Number.NaN }))).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    });
  });

  describe('listLive between passes', () => {
    it('shows every change since the previous call and drops dispatches that ended', async () => {
      const store = await fresh();
      await store.insert(newDispatch('d1'));
      await store.insert(newDispatch('d2'));
      expect((await store.listLive()).map((r) => [r.id, r.state])).toEqual([
        ['d1', 'accepted'],
        ['d2', 'accepted'],
      ]);

      await store.transition('d1', ['accepted'], 'registering', T0);
      await store.transition('d2', ['accepted'], 'cancelled', T0);
      await store.insert(newDispatch('d3'));

      const live = await store.listLive();
      expect(live.map((r) => [r.id, r.state])).toEqual([
        ['d1', 'registering'],
        ['d3', 'accepted'],
      ]);
      expect(live[0]?.transitions.map((t) => t.state)).toEqual(['accepted', 'registering']);
    });
  });
}
