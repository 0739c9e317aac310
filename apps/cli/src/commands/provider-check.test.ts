import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningFakeHetzner, startFakeHetzner } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fleet-provider-check-'));
const localState = mkdtempSync(join(tmpdir(), 'fleet-provider-check-local-'));
let fake: RunningFakeHetzner;

function configFile(name: string, providers: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `fleet_id: acme-ci
forgejo: {api_url: "http://127.0.0.1:9", instance_url: "https://git.example.com", token_file: forgejo-token}
providers:
${providers}
routes:
  - {name: linux, labels: [linux], providers: [${providers.trim().split(':')[0]}]}
scopes:
  org:acme: {}
clients:
  - {name: autoscaler, token_file: client-token, scopes: ["*"]}
`,
  );
  return file;
}

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
    env: { CREDENTIALS_DIRECTORY: dir },
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  fake = await startFakeHetzner({ token: 'hcloud-secret-value-1234' });
  writeFileSync(join(dir, 'forgejo-token'), 'forgejo\n');
  writeFileSync(join(dir, 'client-token'), 'client\n');
  writeFileSync(join(dir, 'hcloud-token'), `${fake.token}\n`);
});
afterAll(async () => {
  await fake.close();
});

function hetzner(endpoint?: string) {
  return `  hetzner-fsn:
    kind: hetzner
    ${endpoint === undefined ? '' : `endpoint: ${endpoint}`}
    token_file: hcloud-token
    server_types: [cpx22, cx23]
    locations: [fsn1, nbg1]
    image: ubuntu-24.04
`;
}

describe('forgejo-fleet provider-check', () => {
  it('passes against the fake Hetzner and deletes everything it created', async () => {
    const file = configFile('hetzner', hetzner(fake.url));
    const result = await run(['provider-check', '--dispatcher', file, '--provider', 'hetzner-fsn']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^provider-check hetzner-fsn \(kind hetzner\), test fleets ff-conf-/);
    expect(lines.filter((l) => l.startsWith('ok    '))).toHaveLength(9);
    expect(lines.filter((l) => l.startsWith('skip  ')).map((l) => l.slice(6))).toEqual([
      'errors are classified (the subject cannot inject errors)',
      'user-data arrives intact (the subject cannot show what the VM received)',
    ]);
    expect(lines.at(-1)).toBe('all checks passed');
    expect(result.stdout).toMatch(/cleanup: deleted \d+ instances/);
    expect(fake.servers()).toEqual([]);
    expect(result.stdout).not.toContain(fake.token);
  });

  it('exits 1 when a check fails, and still cleans up', async () => {
    const file = configFile('hetzner-broken', hetzner(fake.url));
    fake.injectFault({ method: 'GET', path: /^\/servers\/\d+$/, code: 'forbidden', times: 1 });
    const result = await run(['provider-check', '--dispatcher', file, '--provider', 'hetzner-fsn']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAIL {2}get finds the instance with its name and tags: hetzner-fsn: get server \d+: forbidden/,
    );
    expect(result.stdout.trim().split('\n').at(-1)).toBe('1 check failed');
    expect(fake.servers()).toEqual([]);
  });

  it('refuses a real cloud without --yes, before any call', async () => {
    const calls = fake.calls().length;
    for (const [name, providers] of [
      ['hetzner-fsn', hetzner()],
      [
        'aws-eu',
        `  aws-eu:
    kind: ec2
    region: eu-central-1
    image_id: ami-0123456789abcdef0
    instance_types: [c7a.large]
`,
      ],
    ] as const) {
      const result = await run([
        'provider-check',
        '--dispatcher',
        configFile(`real-${name}`, providers),
        '--provider',
        name,
      ]);
      expect(result.code).toBe(64);
      expect(result.stderr).toContain('is a real cloud account');
      expect(result.stdout).toBe('');
    }
    expect(fake.calls()).toHaveLength(calls);
  });

  it.each([
    [['provider-check'], 64],
    [['provider-check', '--dispatcher', 'x.yaml'], 64],
    [['provider-check', '--dispatcher', '/nonexistent.yaml', '--provider', 'p'], 2],
  ])('%j exits %i', async (argv, code) => {
    expect((await run(argv)).code).toBe(code);
  });

  it('names the known providers and scopes on a typo', async () => {
    const file = configFile('typo', hetzner(fake.url));
    const provider = await run(['provider-check', '--dispatcher', file, '--provider', 'hetzner']);
    expect(provider).toMatchObject({ code: 64 });
    expect(provider.stderr).toContain('no provider "hetzner" (providers: hetzner-fsn)');
    const scope = await run([
      'provider-check',
      '--dispatcher',
      file,
      '--provider',
      'hetzner-fsn',
      '--scope',
      'org:nope',
    ]);
    expect(scope.stderr).toContain('no scope "org:nope" (scopes: org:acme)');
  });

  it('passes against the shell provider with the local VM script', async () => {
    const file = configFile(
      'local',
      `  local:
    kind: shell
    command: [${join(root, 'scripts/providers/local.sh')}]
    timeout: 20s
    env: {FORGEJO_FLEET_LOCAL_STATE: ${localState}, FAKE_RUNNER_JOB_MS: "0"}
`,
    );
    const result = await run([
      'provider-check',
      '--dispatcher',
      file,
      '--provider',
      'local',
      '--scope',
      'org:acme',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ok    delete is idempotent');
    expect(result.stdout).toContain('skip  an id that never existed');
    expect(readdirSync(join(localState, 'instances'))).toEqual([]);
  }, 90_000);
});
