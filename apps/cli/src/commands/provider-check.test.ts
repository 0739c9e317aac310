import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AnyProviderConfig,
  DEFAULT_CHOICE,
  type Instance,
  type InstanceSpec,
  type Provider,
  ProviderError,
} from '@forgejo-fleet/providers';
import { type RunningFakeHetzner, startFakeHetzner, startFakeKubernetes } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { CHECK_TAG, isRealCloud, providerCheck, providerCheckHelp } from './provider-check.js';

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

  it.each([
    ['pod', 'pod: {image: "registry.example.org/runner:12"}'],
    ['kubevirt', 'kubevirt: {image: "quay.io/containerdisks/debian:12"}'],
  ])(
    'passes against the fake Kubernetes API (flavor %s) with --yes and leaves nothing behind',
    async (flavor, template) => {
      const cluster = await startFakeKubernetes({ namespaces: ['runners'], kubelet: false });
      try {
        const kubeconfig = join(dir, `kubeconfig-${flavor}`);
        writeFileSync(
          kubeconfig,
          `current-context: fake
clusters: [{name: fake, cluster: {server: "${cluster.url}"}}]
users: [{name: fleet, user: {token: ${cluster.token}}}]
contexts: [{name: fake, context: {cluster: fake, user: fleet}}]
`,
        );
        const file = configFile(
          `kubernetes-${flavor}`,
          `  k8s:\n    kind: kubernetes\n    flavor: ${flavor}\n    kubeconfig_file: ${kubeconfig}\n    namespace: runners\n    ${template}\n`,
        );

        const refused = await run(['provider-check', '--dispatcher', file, '--provider', 'k8s']);
        const result = await run(['provider-check', '--dispatcher', file, '--provider', 'k8s', '--yes']);

        expect(refused.code).toBe(64);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout.trim().split('\n').at(-1)).toBe('all checks passed');
        expect(result.stdout).toContain('ok    an id that never existed');
        await cluster.settle();
        expect([
          ...cluster.pods('runners'),
          ...cluster.vmis('runners'),
          ...cluster.secrets('runners'),
        ]).toEqual([]);
      } finally {
        await cluster.close();
      }
    },
  );

  it.each([
    { why: 'on a terminal, a line redrawn per check', isTTY: true, env: {} },
    {
      why: 'on a terminal in CI, nothing (stdout has the first and last line)',
      isTTY: true,
      env: { CI: 'true' },
    },
  ])('shows progress on stderr $why; results stay on stdout', async ({ isTTY, env }) => {
    const shown: string[] = [];
    let stdout = '';
    const io = {
      stdout: (t: string) => {
        stdout += t;
      },
      stderr: () => undefined,
      env: { CREDENTIALS_DIRECTORY: dir, ...env },
    };

    const code = await providerCheck(
      ['--dispatcher', configFile('hetzner-progress', hetzner(fake.url)), '--provider', 'hetzner-fsn'],
      io,
      { progressStream: { isTTY, write: (c: string) => shown.push(c) } },
    );

    expect(code).toBe(0);
    expect(stdout).toMatch(/\nall checks passed\n$/);
    const text = shown.join('');
    if (env.CI === undefined) {
      expect(shown[0]).toBe('\r\u001b[Kprovider-check hetzner-fsn: 0/11 (0%)');
      const erase = '\r\u001b[K';
      expect(shown[1]?.startsWith(`${erase}provider-check hetzner-fsn: 0/11 (0%) `)).toBe(true);
      expect(shown[1]?.slice(`${erase}provider-check hetzner-fsn: 0/11 (0%) `.length)).toMatch(/^\S/);
      expect(shown.filter((c) => c === '\r\u001b[K')).toHaveLength(11);
      expect(text).toMatch(/provider-check hetzner-fsn: 10\/11 \(90%\) .*, done in \d+\.\ds\n$/);
    } else {
      expect(text).toBe('');
    }
    expect(fake.servers()).toEqual([]);
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

  it('--help names the kinds that need --yes as isRealCloud decides: kubernetes always, loopback or not', () => {
    const kinds: [Record<string, string>, boolean][] = [
      [{ kind: 'ec2' }, true],
      [{ kind: 'ec2', endpoint: 'http://127.0.0.1:4566' }, false],
      [{ kind: 'hetzner', endpoint: 'https://api.hetzner.cloud/v1' }, true],
      [{ kind: 'hetzner', endpoint: 'http://localhost:8080/v1' }, false],
      [{ kind: 'kubernetes' }, true],
      [{ kind: 'shell' }, false],
    ];
    for (const [config, real] of kinds) {
      expect([config, isRealCloud(config as unknown as AnyProviderConfig)]).toEqual([config, real]);
    }
    const help = providerCheckHelp.replace(/\s+/g, ' ');
    expect(help).toContain('kind ec2 or hetzner without a loopback endpoint');
    expect(help).toContain('kind kubernetes on any cluster, a loopback API server included');
    expect(help).toContain('kind shell never needs it');
    expect(help).toContain('64 for bad usage or a missing --yes');
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

/** A cloud in memory that keeps what it was asked to make; its deletes can be refused. */
function memoryCloud(options: { refuseDelete?: boolean } = {}) {
  const instances = new Map<string, Instance>();
  const specs: InstanceSpec[] = [];
  let next = 1;
  function matches(instance: Instance, tags: Readonly<Record<string, string>>) {
    return Object.entries(tags).every(([k, v]) => instance.tags[k] === v);
  }
  function aborted(signal: AbortSignal | undefined) {
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
  }
  const provider: Provider = {
    name: 'cloud',
    kind: 'memory',
    choices: [DEFAULT_CHOICE],
    async create(spec, o) {
      aborted(o?.signal);
      specs.push(spec);
      const existing = [...instances.values()].find((i) => i.name === spec.name);
      if (existing) return existing;
      const instance: Instance = {
        id: `i-${next++}`,
        name: spec.name,
        state: 'running',
        tags: { ...spec.tags },
      };
      instances.set(instance.id, instance);
      return instance;
    },
    async get(id, o) {
      aborted(o?.signal);
      return instances.get(id);
    },
    async list(tags, o) {
      aborted(o?.signal);
      return [...instances.values()].filter((i) => matches(i, tags));
    },
    async delete(id, o) {
      aborted(o?.signal);
      if (options.refuseDelete) {
        throw new ProviderError(
          'cloud',
          'fatal',
          'TerminateInstances: UnauthorizedOperation: not authorized',
        );
      }
      return instances.delete(id) ? 'deleted' : 'not-found';
    },
  };
  return { provider, instances, specs };
}

async function check(file: string, name: string, cloud: ReturnType<typeof memoryCloud>) {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    env: { CREDENTIALS_DIRECTORY: dir },
  };
  const code = await providerCheck(['--dispatcher', file, '--provider', name, '--yes'], io, {
    createProvider: () => cloud.provider,
    progressStream: { write: () => true },
  });
  return { code, stdout, stderr };
}

const AWS_LOCAL = `  aws-eu:
    kind: ec2
    region: eu-central-1
    endpoint: http://127.0.0.1:4566
    image_id: ami-0123456789abcdef0
    instance_types: [c7a.large]
`;

describe('provider-check on a real account', () => {
  it.each([
    [
      'aws-eu',
      AWS_LOCAL,
      /delete these by hand: aws ec2 terminate-instances --region eu-central-1 --endpoint-url http:\/\/127\.0\.0\.1:4566 --instance-ids (i-\d+ ?)+\n/,
    ],
    ['hetzner-fsn', hetzner(), /delete these by hand: hcloud server delete (i-\d+ ?)+\n/],
  ])(
    '%s: a refused delete exits non-zero and prints the ids to delete by hand',
    async (name, providers, hint) => {
      const cloud = memoryCloud({ refuseDelete: true });

      const result = await check(configFile(`refused-${name}`, providers), name, cloud);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(hint);
      const left = [...cloud.instances.keys()];
      expect(left.length).toBeGreaterThan(0);
      expect(result.stderr).toContain(`${left.length} instances left behind`);
      expect(result.stderr).toContain(left.join(' '));
      expect(result.stdout.trim().split('\n').at(-1)).toMatch(/checks? failed$/);
    },
  );

  it('its test VMs carry the tags the documented IAM policy lets it terminate, and the policy allows every call it makes', async () => {
    const doc = readFileSync(join(root, 'docs/providers.md'), 'utf8');
    const block = /### IAM permissions[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const policy = JSON.parse(block ?? '') as {
      Statement: {
        Effect: string;
        Action: string | string[];
        Condition?: Record<string, Record<string, string | string[]>>;
      }[];
    };
    const allows = (action: string) =>
      policy.Statement.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action));
    for (const action of [
      'ec2:RunInstances',
      'ec2:CreateTags',
      'ec2:DescribeInstances',
      'ec2:TerminateInstances',
    ]) {
      expect(allows(action), action).not.toEqual([]);
    }
    expect(allows('ec2:CreateTags')[0]?.Condition).toEqual({
      StringEquals: { 'ec2:CreateAction': 'RunInstances' },
    });
    const terminate = allows('ec2:TerminateInstances');
    const tagConditions = terminate.flatMap((s) =>
      Object.entries(s.Condition?.StringEquals ?? {}).filter(([key]) => key.startsWith('aws:ResourceTag/')),
    );
    // The policy's example fleet id is the config's: acme-ci.
    expect(tagConditions).toEqual([['aws:ResourceTag/forgejo-fleet', 'acme-ci']]);

    const cloud = memoryCloud();
    const result = await check(configFile('policy', AWS_LOCAL), 'aws-eu', cloud);

    expect(result.code).toBe(0);
    expect(cloud.specs.length).toBeGreaterThan(0);
    for (const spec of cloud.specs) {
      for (const [key, value] of tagConditions) {
        expect(spec.tags[key.slice('aws:ResourceTag/'.length)], spec.name).toBe(value);
      }
      expect(spec.tags[CHECK_TAG]).toMatch(/^ff-conf-/);
    }
    expect(cloud.instances.size).toBe(0);
  });
});
