import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';

let fleet: TestFleet;
let refusal = '';

beforeAll(async () => {
  fleet = await startTestFleet();
  for (const [scope, labels] of [
    ['org:acme', 'linux'],
    ['org:acme', 'linux'],
    ['org:beta', 'linux'],
    ['org:acme', 'tiny'],
  ]) {
    await cli(fleet, ['dispatch', '--scope', scope ?? '', '--labels', labels ?? '']);
  }
  // Route tiny takes one VM: the second is refused (429) and logged as a refusal decision.
  const refused = await cli(fleet, ['dispatch', '--scope', 'org:beta', '--labels', 'tiny']);
  refusal = refused.stderr;
  await fleet.dispatcher.service.drain();
});
afterAll(async () => {
  await fleet?.close();
});

describe('forgejo-fleet status', () => {
  it('shows routes, live VMs by provider and state, refusals of the last hour, and says budgets are not shown', async () => {
    expect(refusal).toMatch(/: 429 limit_reached: route tiny is at its limit of 1 live VMs\n$/);

    const run = await cli(fleet, ['status']);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^forgejo-fleet status: http:\/\/127\.0\.0\.1:\d+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    expect(lines).toContainEqual(expect.stringMatching(/^small\s+linux\s+cloud\s+3\/10\s/));
    expect(lines).toContainEqual(expect.stringMatching(/^tiny\s+tiny\s+cloud\s+1\/1\s/));
    expect(lines).toContain('LIVE VMS BY PROVIDER AND STATE');
    const header = lines.find((l) => l.startsWith('PROVIDER'));
    expect(header).toMatch(/^PROVIDER\s+ACCEPTED\s+REGISTERING\s+PROVISIONING\s+BOOTING\s+RUNNING\s+TOTAL$/);
    expect(lines.find((l) => l.startsWith('cloud'))).toMatch(/\s4$/);
    expect(lines.find((l) => l.startsWith('total'))).toMatch(/\s4$/);
    expect(lines).toContain('REFUSALS IN THE LAST HOUR: 1');
    expect(lines).toContainEqual(
      expect.stringMatching(/^tiny\s+1\s+route tiny is at its limit of 1 live VMs$/),
    );
    expect(run.stdout).toContain('BUDGETS\nnot shown: the dispatch API does not expose budget caps or use');
  });

  it('shows a scoped client only its scope: its live VMs, not the refusal of another scope', async () => {
    const run = await cli(fleet, ['status'], { as: 'alice' });

    const lines = run.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^small\s+linux\s+cloud\s+2\/10\s/));
    expect(lines.find((l) => l.startsWith('total'))).toMatch(/\s3$/);
    expect(lines).toContain('REFUSALS IN THE LAST HOUR: 0');
  });

  it('counts live VMs after a cancel no more', async () => {
    const list = JSON.parse((await cli(fleet, ['list', '--route', 'tiny', '--json'])).stdout) as {
      items: { id: string }[];
    };
    await cli(fleet, ['cancel', list.items[0]?.id ?? '']);
    await fleet.dispatcher.service.drain();

    const run = await cli(fleet, ['status']);

    expect(run.stdout).toMatch(/\ntiny\s+tiny\s+cloud\s+0\/1\s/);
    expect(run.stdout.split('\n').find((l) => l.startsWith('total'))).toMatch(/\s3$/);
  });
});
