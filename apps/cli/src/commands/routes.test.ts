import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';

let fleet: TestFleet;
beforeAll(async () => {
  fleet = await startTestFleet();
  await cli(fleet, ['dispatch', '--scope', 'org:acme', '--labels', 'linux']);
  await cli(fleet, ['dispatch', '--scope', 'org:beta', '--labels', 'linux']);
  await fleet.dispatcher.service.drain();
});
afterAll(async () => {
  await fleet?.close();
});

describe('forgejo-fleet routes', () => {
  it('prints each route with its providers, live VMs against max_vms and warm pool', async () => {
    const run = await cli(fleet, ['routes']);

    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^ROUTE\s+LABELS\s+PROVIDERS\s+LIVE\/MAX\s+PER SCOPE\s+WARM TARGET\/IDLE\/BOOTING$/,
      ),
      expect.stringMatching(/^small\s+linux\s+cloud\s+2\/10\s+-\s+-$/),
      expect.stringMatching(/^tiny\s+tiny\s+cloud\s+0\/1\s+-\s+-$/),
    ]);
  });

  it("counts only a scoped client's own live VMs", async () => {
    const run = await cli(fleet, ['routes', '--json'], { as: 'alice' });

    const { routes } = JSON.parse(run.stdout) as { routes: { name: string; live_vms: number }[] };
    expect(routes.map((r) => [r.name, r.live_vms])).toEqual([
      ['small', 1],
      ['tiny', 0],
    ]);
  });

  it('prints its help with --help and exits 0', async () => {
    const run = await cli(fleet, ['routes', '--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: forgejo-fleet routes [--json]');
    expect(run.stdout).toContain('--token-file FILE');
  });
});
