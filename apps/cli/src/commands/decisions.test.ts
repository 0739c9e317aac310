import { readFileSync } from 'node:fs';
import { abortError } from '@forgejo-fleet/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestFleet, type TestFleet } from '../__fixtures__/fleet.js';
import { decisionsHelp } from './decisions.js';

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

const HOUR = 3_600_000;

describe('forgejo-fleet decisions', () => {
  it("prints the last hour's decisions, one line each", async () => {
    const run = await cli(fleet, ['decisions']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^\\d+ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ create dispatch=${acme} route=small scope=org:acme provider=cloud .*· `,
        'm',
      ),
    );
    expect(run.stdout).toContain(`create dispatch=${beta} `);
  });

  it("shows a scoped client only its scope's decisions", async () => {
    const run = await cli(fleet, ['decisions'], { as: 'alice' });

    expect(run.stdout).toContain(`dispatch=${acme} `);
    expect(run.stdout).not.toContain(beta);
    expect(run.stdout).not.toContain('org:beta');
  });

  it('filters by dispatch and prints JSON lines with --json', async () => {
    const run = await cli(fleet, ['decisions', '--dispatch', beta, '--json']);

    const items = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { dispatch_id: string; kind: string });
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((d) => d.dispatch_id === beta)).toBe(true);
  });

  it('starts --since ago: decisions older than that are left out', async () => {
    const later = { now: () => Date.now() + 2 * HOUR, sleep: async () => undefined };

    const hour = await cli(fleet, ['decisions'], { io: { clock: later } });
    const threeHours = await cli(fleet, ['decisions', '--since', '3h'], { io: { clock: later } });

    expect(hour.stdout).toBe('');
    expect(threeHours.stdout).toContain(`dispatch=${acme} `);
  });

  it('--follow prints a new decision as it is made, then stops when interrupted', async () => {
    const stop = new AbortController();
    const slept: number[] = [];
    let printedBeforeCancel = '';
    let out = '';
    const clock = {
      now: () => Date.now(),
      async sleep(ms: number, signal?: AbortSignal) {
        slept.push(ms);
        if (slept.length === 1) {
          // Between two polls, the dispatch is cancelled: the next poll must print that decision.
          printedBeforeCancel = out;
          await cli(fleet, ['cancel', acme]);
          return;
        }
        stop.abort(new Error('interrupted'));
        throw abortError(signal ?? stop.signal);
      },
    };

    const { runCli } = await import('../cli.js');
    const code = await runCli(['decisions', '--follow', '--interval', '5s'], {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        out += text;
      },
      env: { FORGEJO_FLEET_URL: fleet.url, FORGEJO_FLEET_TOKEN_FILE: fleet.opsTokenFile },
      clock,
      signal: stop.signal,
    } as Parameters<typeof runCli>[1]);

    expect(code).toBe(0);
    expect(slept).toEqual([5_000, 5_000]);
    expect(printedBeforeCancel).not.toMatch(/ cancel dispatch=/);
    const added = out.slice(printedBeforeCancel.length).trimEnd().split('\n');
    expect(added).toEqual([
      expect.stringMatching(new RegExp(`^\\d+ \\S+ \\S+ cancel dispatch=${acme} .*· cancelled by ops$`)),
      expect.stringMatching(
        new RegExp(`^\\d+ \\S+ \\S+ delete dispatch=${acme} .*· vm vm-\\d+ deleted: cancelled by ops$`),
      ),
    ]);
  });

  it.each([
    [['--since', '1h', '--after', '3'], /--after: cannot be combined with --since/],
    [['--since', 'soon'], /--since: invalid duration "soon"/],
    [['--interval', '10ms'], /--interval: duration 10ms is out of range/],
    [['--after=-1'], /--after: expected a sequence number/],
  ])('is a usage error (64) naming the flag for %j', async (argv, message) => {
    const run = await cli(fleet, ['decisions', ...argv]);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(message);
  });
});

describe('forgejo-fleet decisions --help', () => {
  const [usage = ''] = decisionsHelp.split('\n');

  it('names every flag it describes in its usage line', () => {
    const described = [...decisionsHelp.matchAll(/^ {2}(--[a-z-]+)/gm)]
      .map((match) => match[1] ?? '')
      .filter((flag) => flag !== '--url' && flag !== '--token-file');

    expect(described).toContain('--interval');
    for (const flag of described) expect(usage).toMatch(new RegExp(`[[ ]${flag}[ \\]]`));
  });

  it('has the usage line docs/cli.md shows', () => {
    const docs = readFileSync(new URL('../../../../docs/cli.md', import.meta.url), 'utf8');

    expect(docs.split('\n')).toContain(usage.replace(/^Usage: /, ''));
  });
});
