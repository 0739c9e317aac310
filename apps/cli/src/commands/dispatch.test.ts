import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';

let fleet: TestFleet;
beforeAll(async () => {
  fleet = await startTestFleet();
});
afterAll(async () => {
  await fleet?.close();
});

describe('forgejo-fleet dispatch', () => {
  it('asks for a VM by scope and labels and the dispatcher makes it', async () => {
    const run = await cli(fleet, ['dispatch', '--scope', 'org:acme', '--labels', 'linux']);
    await fleet.dispatcher.service.drain();

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = /^(\S+) accepted on route small for org:acme\n$/.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    const record = await fleet.dispatcher.store.get(id ?? '');
    expect(record).toMatchObject({ scope: 'org:acme', route: 'small', handle: null, labels: ['linux'] });
    expect([...fleet.cloud.instances.values()].map((vm) => vm.tags)).toContainEqual(
      expect.objectContaining({ 'forgejo-fleet-dispatch': id }),
    );
  });

  it('prints the whole new dispatch with --json', async () => {
    const run = await cli(fleet, ['dispatch', '--scope', 'org:acme', '--labels', ' linux ,', '--json']);

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ scope: 'org:acme', route: 'small', labels: ['linux'] });
  });

  it.each([
    [
      'no route takes the labels',
      ['--scope', 'org:acme', '--labels', 'gpu'],
      'alice',
      /answered 422: no route takes labels \[gpu\]/,
    ],
    [
      'a scope the client may not use',
      ['--scope', 'org:beta', '--labels', 'linux'],
      'alice',
      /answered 403: client "alice" may not dispatch for scope org:beta/,
    ],
    [
      'a scope that is not configured',
      ['--scope', 'org:nope', '--labels', 'linux'],
      'ops',
      /answered 400: scope org:nope is not configured[^\n]*\n {2}scope: /,
    ],
  ] as const)('exits 1 and prints the refusal for %s', async (_what, argv, as, message) => {
    const before = fleet.cloud.instances.size;
    const run = await cli(fleet, ['dispatch', ...argv], { as });
    await fleet.dispatcher.service.drain();

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(fleet.cloud.instances.size).toBe(before);
  });

  it.each([
    [['--labels', 'linux'], /--scope: required/],
    [['--scope', 'org:acme'], /--labels: required/],
    [['--scope', 'org:acme', '--labels', ','], /--labels: expected at least one label/],
    [['--scope', 'org:acme', '--labels', 'a b'], /--labels: expected a label name/],
    [['--scope', 'org:acme', '--labels', 'linux', 'extra'], /Unexpected argument 'extra'/],
  ])('is a usage error (64) naming the flag for %j', async (argv, message) => {
    const run = await cli(fleet, ['dispatch', ...argv]);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('Usage: forgejo-fleet dispatch');
  });
});
