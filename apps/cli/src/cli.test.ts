import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const credentials = mkdtempSync(join(tmpdir(), 'fleet-cli-'));

beforeAll(() => {
  const names = [
    'forgejo-token',
    'forgejo-token-acme',
    'hcloud-token',
    'hcloud-token-acme',
    'dispatcher-token-autoscaler',
    'dispatcher-token-alice',
    'dispatcher-token',
    'webhook-secret',
    'forgejo-token-alice',
  ];
  for (const name of names) writeFileSync(join(credentials, name), `value-${name}\n`);
});

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { CREDENTIALS_DIRECTORY: credentials },
  });
  return { code, stdout, stderr };
}

describe('forgejo-fleet validate-config', () => {
  it('prints ok for both example files', async () => {
    const result = await run([
      'validate-config',
      '--dispatcher',
      `${root}config.example.yaml`,
      '--autoscaler',
      `${root}autoscaler.example.yaml`,
    ]);
    expect(result).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('exits 2 and prints every error', async () => {
    const file = join(credentials, 'bad.yaml');
    writeFileSync(file, 'fleet_id: Bad Name\nforgejo: {api_url: nope}\nrutes: []\n');
    const result = await run(['validate-config', '--dispatcher', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toContain(`${file}: rutes: unknown key (did you mean "routes"?)`);
    expect(lines.some((l) => l.startsWith(`${file}: fleet_id: expected lowercase`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`${file}: forgejo.api_url: invalid URL "nope"`))).toBe(true);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for a missing file', async () => {
    const result = await run(['validate-config', '--autoscaler', '/nonexistent/autoscaler.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('/nonexistent/autoscaler.yaml: cannot read config file');
  });

  it.each([
    [['validate-config']],
    [['validate-config', '--dispatcher']],
    [['validate-config', '--bogus', 'x']],
    [['nope']],
  ])('treats %j as a usage error', async (argv) => {
    expect((await run(argv)).code).toBe(64);
  });
});

describe('the forgejo-fleet executable', () => {
  it('runs as a process and sets the exit code', async () => {
    const result = await promisify(execFile)(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        `${root}apps/cli/src/main.ts`,
        'validate-config',
        '--dispatcher',
        `${root}config.example.yaml`,
      ],
      { env: { ...process.env, CREDENTIALS_DIRECTORY: credentials } },
    );
    expect(result.stdout).toBe('ok\n');
  });
});

describe('forgejo-fleet render-user-data', () => {
  it('prints the route user-data with a placeholder token', async () => {
    const result = await run([
      'render-user-data',
      '--dispatcher',
      `${root}config.example.yaml`,
      '--route',
      'linux-small',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('#cloud-config\n')).toBe(true);
    expect(result.stdout).toContain('PLACEHOLDER-RUNNER-TOKEN');
    expect(result.stdout).toContain("--label 'linux:docker://node:22-bookworm'");
    expect(result.stdout).toContain('timeout: 10800s');
    expect(result.stdout).not.toContain('--handle');
    expect(result.stdout).not.toContain('value-forgejo-token');
  });

  it('passes a handle through', async () => {
    const result = await run([
      'render-user-data',
      '--dispatcher',
      `${root}config.example.yaml`,
      '--route',
      'linux-large',
      '--handle',
      '33ba7d51-59c6-44f8-9d2b-1b94f4033973',
    ]);
    expect(result.stdout).toContain("--handle '33ba7d51-59c6-44f8-9d2b-1b94f4033973'");
  });

  it('needs none of the config secrets', async () => {
    let stdout = '';
    const code = await runCli(
      ['render-user-data', '--dispatcher', `${root}config.example.yaml`, '--route', 'linux-small'],
      {
        stdout: (t) => {
          stdout += t;
        },
        stderr: () => undefined,
        env: {},
      },
    );

    expect(code).toBe(0);
    expect(stdout).toContain('PLACEHOLDER-RUNNER-TOKEN');
    expect(stdout).not.toContain('unchecked');
  });

  it('names the known routes when the route is unknown', async () => {
    const result = await run([
      'render-user-data',
      '--dispatcher',
      `${root}config.example.yaml`,
      '--route',
      'nope',
    ]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('no route "nope" (routes: linux-small, linux-large)');
  });
});

describe('forgejo-fleet --help', () => {
  // One whole phrase per command, written for the list (a regression cut them from the help text).
  const SUMMARIES: Record<string, string> = {
    'validate-config': 'Checks config files and prints "ok", or prints every problem and exits 2.',
    'render-user-data': "Prints a route's cloud-init user-data, with a placeholder runner token.",
    'provider-check': 'Runs the conformance checks against a provider, then deletes what it made.',
    status: "One screen: routes, live VMs, warm pools, recent refusals, today's budgets.",
    list: 'Lists dispatches: filters, pages, a table or --json.',
    get: 'Shows one dispatch with its state transitions.',
    cancel: 'Cancels a dispatch: its VM and its runner registration are deleted.',
    dispatch: 'Asks for one VM by hand, by scope and labels (no Forgejo job).',
    routes: 'Lists the routes: labels, providers, live VMs against limits, warm pools.',
    decisions: 'Prints the decision log; --follow keeps printing new decisions.',
    why: 'Asks the dispatcher why a job waits or what became of its VM.',
    'store migrate': 'Copies a single-host SQLite store into an empty PostgreSQL database.',
  };

  async function commandLines(): Promise<string[]> {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const start = lines.indexOf('Commands:') + 1;
    return lines.slice(start, lines.indexOf('', start));
  }

  it('gives every command its whole one-line summary', async () => {
    const lines = await commandLines();

    expect(lines).toEqual(
      Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(18)} ${summary}`),
    );
    for (const line of lines) {
      expect(line).toMatch(/\.$/);
      expect(line).not.toMatch(/[,;:]$/);
      expect(line.length).toBeLessThanOrEqual(100);
    }
  });

  it.each(Object.keys(SUMMARIES))('lists %s, which has its own --help', async (name) => {
    const result = await run([...name.split(' '), '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: forgejo-fleet ${name}( |\n)`));
  });
});

describe('exit code 2: a config file is invalid', () => {
  const docs = readFileSync(`${root}docs/cli.md`, 'utf8');
  const bad = () => {
    const file = join(credentials, 'invalid.yaml');
    writeFileSync(file, 'fleet_id: Bad Name\n');
    return file;
  };
  const commands: [string, (file: string) => string[]][] = [
    ['validate-config', (file) => ['validate-config', '--dispatcher', file]],
    ['render-user-data', (file) => ['render-user-data', '--dispatcher', file, '--route', 'linux']],
    ['provider-check', (file) => ['provider-check', '--dispatcher', file, '--provider', 'p']],
    [
      'store migrate',
      (file) => [
        'store',
        'migrate',
        '--from',
        'sqlite:/nowhere/d.db',
        '--to',
        'postgres',
        '--dispatcher',
        file,
      ],
    ],
  ];

  it.each(commands)('%s exits 2, and the help and docs/cli.md say so', async (name, argv) => {
    const result = await run(argv(bad()));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('fleet_id');
    const help = (await run(['--help'])).stdout;
    const helpRow = help.slice(help.indexOf('\n  2   '), help.indexOf('\n  64  '));
    expect(helpRow.replace(/\s+/g, ' ')).toContain(name);
    const docsRow = docs.split('\n').find((line) => line.startsWith('| 2 |'));
    expect(docsRow).toContain(`\`${name}`);
  });
});
