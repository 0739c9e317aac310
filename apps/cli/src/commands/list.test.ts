import type { Dispatch } from '@forgejo-fleet/dispatch-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';

let fleet: TestFleet;
/** Dispatch ids by scope, oldest first. */
const ids: Record<'org:acme' | 'org:beta', string[]> = { 'org:acme': [], 'org:beta': [] };

beforeAll(async () => {
  fleet = await startTestFleet();
  for (const scope of ['org:acme', 'org:beta', 'org:acme', 'org:acme'] as const) {
    const run = await cli(fleet, ['dispatch', '--scope', scope, '--labels', 'linux']);
    ids[scope].push(run.stdout.split(' ')[0] ?? '');
  }
  await fleet.dispatcher.service.drain();
});
afterAll(async () => {
  await fleet?.close();
});

function jsonPage(stdout: string): { items: Dispatch[]; next_cursor: string | null } {
  return JSON.parse(stdout);
}

describe('forgejo-fleet list', () => {
  it('prints a table of every dispatch, newest first', async () => {
    const run = await cli(fleet, ['list']);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATE\s+ROUTE\s+SCOPE\s+PROVIDER\s+CREATED\s+JOB$/);
    expect(lines).toHaveLength(5);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual([...ids['org:acme'], ...ids['org:beta']].sort());
    expect(lines[1]).toMatch(
      /\s+small\s+org:(acme|beta)\s+cloud\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+manual$/,
    );
  });

  it('pages with --limit and --cursor, and hints the next cursor on stderr', async () => {
    const first = await cli(fleet, ['list', '--limit', '3', '--json']);
    const page1 = jsonPage(first.stdout);
    expect(page1.items).toHaveLength(3);
    expect(page1.next_cursor).not.toBeNull();

    const second = await cli(fleet, ['list', '--limit', '3', '--json', '--cursor', page1.next_cursor ?? '']);
    const page2 = jsonPage(second.stdout);
    expect(page2.items).toHaveLength(1);
    expect(page2.next_cursor).toBeNull();
    expect(new Set([...page1.items, ...page2.items].map((d) => d.id)).size).toBe(4);

    const table = await cli(fleet, ['list', '--limit', '3']);
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(table.stderr).toBe(`more: forgejo-fleet list --cursor ${page1.next_cursor} (same filters)\n`);
  });

  it('follows every page with --all', async () => {
    const run = await cli(fleet, ['list', '--all', '--limit', '1', '--json']);

    const page = jsonPage(run.stdout);
    expect(page.items.map((d) => d.id).sort()).toEqual([...ids['org:acme'], ...ids['org:beta']].sort());
    expect(page.next_cursor).toBeNull();
  });

  it('prints the API items as they are with --json', async () => {
    const run = await cli(fleet, ['list', '--json']);

    const { items } = jsonPage(run.stdout);
    const mine = items.find((d) => d.id === ids['org:beta'][0]);
    expect(mine).toMatchObject({ scope: 'org:beta', route: 'small', provider: 'cloud', client: 'ops' });
    expect(mine?.transitions.map((t) => t.state)).toContain('provisioning');
  });

  it.each([
    [['--scope', 'org:beta'], () => ids['org:beta']],
    [['--route', 'tiny'], () => []],
    [['--state', 'cancelled'], () => []],
  ])('filters with %j', async (filter, expected) => {
    const run = await cli(fleet, ['list', '--json', ...filter]);

    expect(jsonPage(run.stdout).items.map((d) => d.id)).toEqual(expected());
  });

  it("shows a scoped client only its own scope's dispatches", async () => {
    const all = await cli(fleet, ['list', '--json'], { as: 'alice' });
    const beta = await cli(fleet, ['list', '--json', '--scope', 'org:beta'], { as: 'alice' });

    expect(
      jsonPage(all.stdout)
        .items.map((d) => d.id)
        .sort(),
    ).toEqual([...ids['org:acme']].sort());
    expect(jsonPage(beta.stdout).items).toEqual([]);
  });

  it('takes --url and --token-file over the environment', async () => {
    const run = await cli(
      fleet,
      ['list', '--url', fleet.url, '--token-file', fleet.aliceTokenFile, '--json'],
      {
        io: { env: { FORGEJO_FLEET_URL: 'http://127.0.0.1:9', FORGEJO_FLEET_TOKEN: 'wrong' } },
      },
    );

    expect(run.code).toBe(0);
    expect(jsonPage(run.stdout).items).toHaveLength(3);
  });

  it('exits 1 with the answer when the token is refused', async () => {
    const run = await cli(fleet, ['list'], {
      io: { env: { FORGEJO_FLEET_URL: fleet.url, FORGEJO_FLEET_TOKEN: 'wrong' } },
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^forgejo-fleet list: the dispatcher answered 401: /);
  });

  it('exits 1 naming the URL when nobody listens there', async () => {
    const run = await cli(fleet, ['list', '--url', 'http://127.0.0.1:9']);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^forgejo-fleet list: no usable answer from the dispatcher at http:\/\/127\.0\.0\.1:9: /,
    );
  });

  it.each([
    [['--state', 'sleeping'], /--state: /],
    [['--limit', '0'], /--limit: /],
    [['--limit', '501'], /--limit: /],
    [['--limit', 'ten'], /--limit: expected a whole number/],
    [['--all', '--cursor', 'abc'], /--cursor: cannot be combined with --all/],
    [['--url', 'ftp://x'], /--url \(or FORGEJO_FLEET_URL\): expected an http\(s\) URL/],
    [['--token-file', '/nonexistent/token'], /--token-file \/nonexistent\/token: ENOENT/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('is a usage error (64) naming the flag for %j', async (argv, message) => {
    const run = await cli(fleet, ['list', ...argv]);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(message);
  });

  it('needs a token', async () => {
    const run = await cli(fleet, ['list'], { io: { env: { FORGEJO_FLEET_URL: fleet.url } } });

    expect(run.code).toBe(64);
    expect(run.stderr).toContain(
      'no client token: pass --token-file FILE, or set FORGEJO_FLEET_TOKEN_FILE (a file) or FORGEJO_FLEET_TOKEN (the token)',
    );
  });
});
