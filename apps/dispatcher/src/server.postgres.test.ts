import { describePostgres } from '@forgejo-fleet/store/testing';
import { expect, it } from 'vitest';
import { jobRan } from './__fixtures__/job-ran.js';
import { postgresDispatchers } from './__fixtures__/postgres-dispatchers.js';

/**
 * The wired dispatcher (config → startDispatcher → HTTP) on a real PostgreSQL: the store block
 * is what an operator writes (`kind: postgres`, the URL from the environment), the schema comes
 * through the URL's `options=-c search_path=…` as it would for a shared database.
 */
describePostgres('dispatcher on PostgreSQL', (db) => {
  const fleet = postgresDispatchers(db, { fleetId: 'srv-pg' });

  it('dispatch → VM → done through the HTTP API, every step in the PostgreSQL schema', async () => {
    const dispatcher = await fleet.start();
    const job = fleet.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });

    const accepted = await fleet.dispatch(dispatcher, job);
    const replay = await fleet.dispatch(dispatcher, job);
    await dispatcher.service.drain();

    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    expect(((await replay.json()) as { id: string }).id).toBe(id);
    expect(fleet.cloud.instances.size).toBe(1);
    const booting = await fleet.api(dispatcher, 'GET', `/v1/dispatches/${id}`);
    expect(await booting.json()).toMatchObject({ id, state: 'booting', provider: 'cloud' });
    expect(await fleet.rows('SELECT id, state, handle FROM $schema.dispatches')).toEqual([
      { id, state: 'booting', handle: job.handle },
    ]);

    await jobRan(fleet.forgejo, fleet.config, await dispatcher.store.get(id));
    const [vm] = [...fleet.cloud.instances.values()];
    if (vm) fleet.cloud.powerOff(vm.id);
    await dispatcher.service.reconcile();

    const done = await fleet.api(dispatcher, 'GET', `/v1/dispatches/${id}`);
    expect(await done.json()).toMatchObject({ id, state: 'finished' });
    expect(fleet.cloud.instances.size).toBe(0);
    expect(await fleet.rows('SELECT state FROM $schema.transitions ORDER BY seq')).toEqual(
      ['accepted', 'registering', 'provisioning', 'booting', 'finished'].map((state) => ({ state })),
    );
    expect(
      await fleet.rows("SELECT kind FROM $schema.decisions WHERE kind IN ('create', 'delete') ORDER BY seq"),
    ).toEqual([{ kind: 'create' }, { kind: 'delete' }]);
  });

  it('answers /readyz from the database, and a restarted dispatcher finds the same store and records', async () => {
    const first = await fleet.start();
    const ready = await fetch(`${first.url}/readyz`);
    const job = fleet.forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: ['linux'] });
    const accepted = await fleet.dispatch(first, job);
    const { id } = (await accepted.json()) as { id: string };
    await fleet.stop(first);

    const second = await fleet.start();

    expect(ready.status).toBe(200);
    expect(second.store.storeId).toBe(first.store.storeId);
    expect(await fleet.rows("SELECT value FROM $schema.meta WHERE key = 'store_id'")).toEqual([
      { value: first.store.storeId },
    ]);
    const again = await fleet.api(second, 'GET', `/v1/dispatches/${id}`);
    expect(await again.json()).toMatchObject({ id, state: 'booting' });
    expect(fleet.cloud.instances.size).toBe(1);
  });
});
