import type { Fetch } from '@forgejo-fleet/dispatch-api';
import { systemClock } from '@forgejo-fleet/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli as runCli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';
import { budgetTable } from './status.js';

let fleet: TestFleet;
let refusal = '';
/** The dispatcher's and the CLI's clock: VM time, budgets and "the last hour" follow it. */
let now = Date.parse('2026-11-23T10:00:00Z');
const clock = { now: () => now, sleep: systemClock.sleep };

function cli(f: TestFleet, argv: string[], options: Parameters<typeof runCli>[2] = {}) {
  return runCli(f, argv, { ...options, io: { clock, ...options.io } });
}

beforeAll(async () => {
  fleet = await startTestFleet({ budgets: true, now: clock.now });
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
  now += 30 * 60_000; // every VM has run 30 minutes today
});
afterAll(async () => {
  await fleet?.close();
});

describe('budgetTable', () => {
  it.each([
    ['money to cents', { used: 1.234, limit: 5, unit: 'money' as const }, /\s1\.23 \/ 5 money\s+25 %\s/],
    [
      'minutes to a tenth',
      { used: 59.96, limit: 60, unit: 'minutes' as const },
      /\s60 \/ 60 VM-minutes\s+100 %\s/,
    ],
    ['over the cap', { used: 12, limit: 10, unit: 'minutes' as const }, /\s12 \/ 10 VM-minutes\s+120 %\s/],
  ])('shows %s', (_name, budget, row) => {
    const text = budgetTable([{ cap: 'c', resets_at: '2026-11-24T00:00:00.000Z', ...budget }]);

    expect(text.split('\n')[1]).toMatch(row);
    expect(text.split('\n')[1]).toMatch(/2026-11-24 00:00:00Z$/);
  });

  it('says so when no budget applies', () => {
    expect(budgetTable([])).toBe('no budget applies to the scopes this client sees\n');
  });
});

describe('forgejo-fleet status', () => {
  it('shows routes, live VMs by provider and state, refusals of the last hour, and every budget', async () => {
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
    expect(lines).toContain('BUDGETS TODAY (UTC)');
    expect(lines.find((l) => l.startsWith('CAP'))).toMatch(/^CAP\s+USED \/ LIMIT\s+USED\s+RESETS$/);
    // Route small: three VMs (two of acme, one of beta); scope acme: two on small and one on tiny.
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^routes\.small\.limits\.vm_minutes_per_day\s+90 \/ 600 VM-minutes\s+15 %\s+2026-11-24 00:00:00Z$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^scopes\.org:acme\.limits\.vm_minutes_per_day\s+90 \/ 120 VM-minutes\s+75 %\s+2026-11-24 00:00:00Z$/,
      ),
    );
    expect(run.stdout).not.toContain('not offered');
  });

  it('shows a scoped client only its scope: its live VMs, not the refusal of another scope', async () => {
    const run = await cli(fleet, ['status'], { as: 'alice' });

    const lines = run.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^small\s+linux\s+cloud\s+2\/10\s/));
    expect(lines.find((l) => l.startsWith('total'))).toMatch(/\s3$/);
    expect(lines).toContain('REFUSALS IN THE LAST HOUR: 0');
    // Its scope's budget; the route's spans every tenant, so it is not shown.
    expect(lines.filter((l) => /^(routes|scopes)\./.test(l))).toEqual([
      expect.stringMatching(/^scopes\.org:acme\.limits\.vm_minutes_per_day\s+90 \/ 120 VM-minutes\s+75 %/),
    ]);
  });

  it('says budgets are not offered by a dispatcher without the endpoint, and shows the rest', async () => {
    const olderDispatcher: Fetch = (url, init) =>
      new URL(url).pathname === '/v1/budgets'
        ? Promise.resolve(
            Response.json({ error: { code: 'not_found', message: 'no such endpoint' } }, { status: 404 }),
          )
        : globalThis.fetch(url, init);

    const run = await cli(fleet, ['status'], { io: { fetch: olderDispatcher } });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\nbudgets: not offered by this dispatcher\n');
    expect(run.stdout).not.toContain('BUDGETS TODAY');
    expect(run.stdout).toContain('REFUSALS IN THE LAST HOUR: 1');
  });

  it('fails on any other refusal of the budgets read', async () => {
    const broken: Fetch = (url, init) =>
      new URL(url).pathname === '/v1/budgets'
        ? Promise.resolve(Response.json({ error: { code: 'forbidden', message: 'nope' } }, { status: 403 }))
        : globalThis.fetch(url, init);

    const run = await cli(fleet, ['status'], { io: { fetch: broken } });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('forgejo-fleet status: the dispatcher answered 403: nope\n');
    expect(run.stdout).toBe('');
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
