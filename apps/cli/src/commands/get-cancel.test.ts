import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';

let fleet: TestFleet;
let acme: string;
let beta: string;

async function dispatchOne(scope: string): Promise<string> {
  const run = await cli(fleet, ['dispatch', '--scope', scope, '--labels', 'linux']);
  await fleet.dispatcher.service.drain();
  return run.stdout.split(' ')[0] ?? '';
}

beforeAll(async () => {
  fleet = await startTestFleet();
  acme = await dispatchOne('org:acme');
  beta = await dispatchOne('org:beta');
});
afterAll(async () => {
  await fleet?.close();
});

describe('forgejo-fleet get', () => {
  it('shows the dispatch and its timeline', async () => {
    const run = await cli(fleet, ['get', acme]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^id: +${acme}\\n`));
    expect(run.stdout).toMatch(/\nroute: +small\n/);
    expect(run.stdout).toMatch(/\nscope: +org:acme\n/);
    expect(run.stdout).toMatch(/\nprovider: +cloud\n/);
    expect(run.stdout).toMatch(/\ninstance: +vm-\d+\n/);
    expect(run.stdout).toMatch(/\ntransitions:\n {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}accepted/);
  });

  it('prints the API object with --json', async () => {
    const run = await cli(fleet, ['get', beta, '--json']);

    expect(JSON.parse(run.stdout)).toMatchObject({ id: beta, scope: 'org:beta', route: 'small' });
  });

  it("answers another scope's dispatch like one that does not exist", async () => {
    const hidden = await cli(fleet, ['get', beta], { as: 'alice' });
    const missing = await cli(fleet, ['get', 'd-does-not-exist'], { as: 'alice' });

    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toMatch(/answered 404: /);
    expect(hidden.stderr.replace(beta, 'ID')).toBe(missing.stderr.replace('d-does-not-exist', 'ID'));
  });

  it.each([[[]], [['a', 'b']]])('is a usage error for %j', async (argv) => {
    const run = await cli(fleet, ['get', ...argv]);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/expected exactly <id>/);
  });
});

describe('forgejo-fleet cancel', () => {
  it("refuses to cancel another scope's dispatch and changes nothing", async () => {
    const run = await cli(fleet, ['cancel', beta], { as: 'alice' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/answered 404: /);
    expect((await fleet.dispatcher.store.get(beta))?.state).not.toBe('cancelled');
  });

  it('cancels: the VM is deleted and the state is cancelled', async () => {
    const vm = (await fleet.dispatcher.store.get(acme))?.instance_id;
    expect(vm).toBeTruthy();

    const run = await cli(fleet, ['cancel', acme], { as: 'alice' });
    await fleet.dispatcher.service.drain();

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${acme} cancelled (route small, org:acme)\n`);
    expect(fleet.cloud.instances.has(vm ?? '')).toBe(false);
  });

  it('cancelling twice is fine', async () => {
    const run = await cli(fleet, ['cancel', acme]);

    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${acme} cancelled (route small, org:acme)\n`);
  });

  it('exits 1 when the dispatch already ended (409)', async () => {
    fleet.cloud.failNext = 1;
    const failed = await dispatchOne('org:acme');
    expect((await fleet.dispatcher.store.get(failed))?.state).toBe('failed');

    const run = await cli(fleet, ['cancel', failed]);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `forgejo-fleet cancel: the dispatcher answered 409: dispatch ${failed} already ended as failed\n`,
    );
  });

  it('prints the cancelled dispatch with --json', async () => {
    const run = await cli(fleet, ['cancel', beta, '--json']);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: beta, state: 'cancelled' });
  });
});
