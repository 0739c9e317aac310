import { Route } from '@forgejo-fleet/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InvalidRunnerBootstrapError, UserDataTooLargeError } from '../errors.js';
import { bootstrapFromConfig } from '../from-config.js';
import { BOOTSTRAP_PATH, RUNNER_CONFIG_PATH, TOKEN_PATH, USER_DATA_MAX_BYTES } from '../paths.js';
import { renderUserData } from '../render.js';
import { validateWithCloudInit } from '../validate.js';
import { shellcheck, writeFilesOf } from './__fixtures__/agent-sandbox.js';
import { SECRET, VM_ID, warmDockerDownload, warmHost } from './__fixtures__/inputs.js';
import { AGENT_SCRIPT } from './agent-script.js';
import type { WarmBootstrap } from './bootstrap.js';
import { warmBootstrapFromConfig } from './from-config.js';
import { AGENT_AUTH_PATH, AGENT_PATH, PLACEHOLDER_AGENT_SECRET, WARM_BOOTSTRAP_PATH } from './paths.js';
import { renderWarmUserData, SHIPPED_AGENT_GZ_B64, SHIPPED_AGENT_SCRIPT } from './render.js';

type WriteFile = { path: string; content: string; permissions: string; owner: string };
type CloudConfig = { write_files: WriteFile[]; runcmd: string[][]; power_state: Record<string, unknown> };

function load(text: string): CloudConfig {
  return parse(text, { version: '1.1' }) as CloudConfig;
}

/** A file's content as cloud-init writes it (the agent is gz+b64 in the user-data). */
function file(text: string, path: string): string {
  return writeFilesOf(text).get(path)?.content ?? '';
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The NAME='value' lines of a script. */
function assignments(script: string): Map<string, string> {
  return new Map([...script.matchAll(/^([A-Z0-9_]+)='([^']*)'$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

const PREPARE_VARIABLES = [
  'RUNNER_BIN',
  'DOWNLOAD_URL',
  'DOWNLOAD_SHA256',
  'NEEDS_DOCKER',
  'INSTALL_DOCKER',
  'BLOCK_METADATA',
  'METADATA_IPV4',
  'METADATA_IPV6',
  'HOST_USER',
  'BLOCK_HOST_METADATA',
];

const placeholder = { secret: PLACEHOLDER_AGENT_SECRET };
const renderings: Array<[string, WarmBootstrap]> = [
  ['host labels, baked runner', warmHost()],
  ['docker labels, downloaded runner, Docker install', warmDockerDownload()],
  ['metadata block off', warmDockerDownload({ blockMetadataForContainers: false })],
  ['placeholder secret', warmHost(placeholder)],
  ['host user', warmHost({ hostUser: 'ci' })],
  [
    'host user, metadata allowed',
    warmHost({ hostUser: 'ci', blockMetadataForContainers: false, blockMetadataForHostUser: false }),
  ],
];

describe('renderWarmUserData', () => {
  // The agent's gzip bytes come from the platform's zlib: the snapshot holds a marker for them,
  // and every rendering below checks that they decode to the shipped agent.
  it('renders docker labels with a downloaded runner', () => {
    const text = renderWarmUserData(warmDockerDownload(placeholder));
    expect(text.replace(SHIPPED_AGENT_GZ_B64, '<SHIPPED_AGENT_GZ_B64>')).toMatchSnapshot();
  });

  it('renders a host user', () => {
    const text = renderWarmUserData(warmHost({ ...placeholder, hostUser: 'ci' }));
    expect(text.replace(SHIPPED_AGENT_GZ_B64, '<SHIPPED_AGENT_GZ_B64>')).toMatchSnapshot();
  });

  describe.each(renderings)('%s', (_name, input) => {
    const text = renderWarmUserData(input);
    const doc = load(text);
    const bootstrap = file(text, WARM_BOOTSTRAP_PATH);

    it('starts with #cloud-config and is deterministic', () => {
      expect(text.startsWith('#cloud-config\n')).toBe(true);
      expect(renderWarmUserData(structuredClone(input))).toBe(text);
    });

    it('holds the secret exactly once, in the root-only 0600 curl config', () => {
      expect(occurrences(text, input.secret)).toBe(1);
      expect(doc.write_files.filter((f) => f.content.includes(input.secret))).toEqual([
        {
          path: AGENT_AUTH_PATH,
          owner: 'root:root',
          permissions: '0600',
          content: `header = "Authorization: Bearer ${input.secret}"\n`,
        },
      ]);
    });

    it('writes the agent 0700 and runs the bootstrap 0700 from runcmd, with no secret on a command line', () => {
      expect(doc.write_files.map((f) => [f.path, f.owner, f.permissions])).toEqual([
        [AGENT_AUTH_PATH, 'root:root', '0600'],
        [AGENT_PATH, 'root:root', '0700'],
        [WARM_BOOTSTRAP_PATH, 'root:root', '0700'],
        ['/etc/motd', 'root:root', '0644'],
      ]);
      expect(doc.write_files.find((f) => f.path === AGENT_PATH)).toMatchObject({ encoding: 'gz+b64' });
      expect(file(text, AGENT_PATH)).toBe(SHIPPED_AGENT_SCRIPT);
      expect(doc.runcmd).toEqual([[WARM_BOOTSTRAP_PATH]]);
      expect(JSON.stringify(doc.runcmd)).not.toContain(input.secret);
      expect(bootstrap).not.toContain(input.secret);
      expect(AGENT_SCRIPT).not.toContain(input.secret);
    });

    it('carries no runner token and no runner config: both arrive with the job', () => {
      const paths = doc.write_files.map((f) => f.path);
      expect(paths).not.toContain(TOKEN_PATH);
      expect(paths).not.toContain(RUNNER_CONFIG_PATH);
      // …but the agent writes them where the cold path has cloud-init put them.
      expect(assignments(bootstrap).get('TOKEN_FILE')).toBe(TOKEN_PATH);
      expect(assignments(bootstrap).get('RUNNER_CONFIG')).toBe(RUNNER_CONFIG_PATH);
    });

    it('prepares the VM with the same variables as the cold path for the same route', () => {
      const cold = renderUserData({
        instanceUrl: 'https://git.example.com',
        runner: { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: 'x'.repeat(40), name: 'ff-1' },
        labels: input.labels,
        install: input.install,
        jobTimeoutSeconds: 3600,
        ...(input.docker === undefined ? {} : { docker: input.docker }),
        ...(input.blockMetadataForContainers === undefined
          ? {}
          : { blockMetadataForContainers: input.blockMetadataForContainers }),
        ...(input.hostUser === undefined ? {} : { hostUser: input.hostUser }),
        ...(input.blockMetadataForHostUser === undefined
          ? {}
          : { blockMetadataForHostUser: input.blockMetadataForHostUser }),
      });
      const coldVariables = assignments(file(cold, BOOTSTRAP_PATH));
      const warmVariables = assignments(bootstrap);

      for (const name of PREPARE_VARIABLES)
        expect([name, warmVariables.get(name)]).toEqual([name, coldVariables.get(name)]);
      for (const fn of ['install_runner()', 'ensure_docker()', 'block_metadata()', 'finish()']) {
        expect(bootstrap).toContain(fn);
      }
      expect(bootstrap).toMatch(/^ {2}install_runner\n.*ensure_docker; fi\n.*block_metadata; else/ms);
    });

    it('hands the agent every setting it reads', () => {
      const needed = [...AGENT_SCRIPT.matchAll(/^[A-Z_]+=\$(FLEET_[A-Z_]+)$/gm)].map((m) => m[1]);
      const given = [...bootstrap.matchAll(/^ +(FLEET_[A-Z_]+)="\$[A-Z_]+" \\$/gm)].map((m) => m[1]);

      expect(needed).toHaveLength(12);
      expect(given.sort()).toEqual([...needed].sort());
      expect(bootstrap).toMatch(
        /FLEET_AGENT_BACKOFF_MAX="\$BACKOFF_MAX" \\\n {4}"\$AGENT_BIN" \|\| agent_exit=\$\?/,
      );
    });

    it('powers off through the scripts and through power_state', () => {
      expect(doc.power_state).toMatchObject({ mode: 'poweroff', condition: true });
      expect(bootstrap).toMatch(/^ {2}trap finish EXIT$/m);
      expect(bootstrap).toMatch(/^ {2}poweroff \|\| systemctl poweroff \|\| shutdown -P now$/m);
    });

    it('fits the EC2 limit with room for long URLs', () => {
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_MAX_BYTES - 1536);
    });
  });

  it('trims the agent URL and schedules the idle deadline (max idle + 20 min)', () => {
    const host = assignments(file(renderWarmUserData(warmHost()), WARM_BOOTSTRAP_PATH));
    const docker = assignments(file(renderWarmUserData(warmDockerDownload()), WARM_BOOTSTRAP_PATH));

    expect(host.get('AGENT_URL')).toBe('https://fleet.example.com:8443');
    expect(docker.get('AGENT_URL')).toBe('https://fleet.example.com:8443/fleet');
    expect(host.get('DEADLINE_MINUTES')).toBe('80');
    expect(docker.get('DEADLINE_MINUTES')).toBe('140');
    expect(host.get('VM_ID')).toBe(VM_ID);
  });

  it('still fits with a 1 KiB download URL and a long fleet id', () => {
    const url = `https://mirror.example.org/${'a'.repeat(1000)}/forgejo-runner`;
    const input = warmDockerDownload({
      install: { mode: 'download', url, sha256: 'a'.repeat(64) },
      fleetId: 'f'.repeat(128),
    });

    expect(Buffer.byteLength(renderWarmUserData(input))).toBeLessThanOrEqual(USER_DATA_MAX_BYTES);
  });

  it('throws UserDataTooLargeError when URLs make it too big', () => {
    // Two URLs near their 2 KiB maximum only overflow with the host user's functions on board.
    const url = `https://mirror.example.org/${'a'.repeat(2000)}`;
    const input = warmHost({
      agentUrl: `https://fleet.example.org/${'b'.repeat(2000)}`,
      install: { mode: 'download', url, sha256: 'a'.repeat(64) },
      hostUser: 'ci',
    });

    expect(() => renderWarmUserData(input)).toThrow(UserDataTooLargeError);
  });

  it.each([
    ['a vm id in upper case', { vmId: 'WK4XQ2M7BZ3CA' }, 'vmId'],
    ['a vm id without the w', { vmId: 'k4xq2m7bz3cab' }, 'vmId'],
    ['a short vm id', { vmId: 'wk4xq2' }, 'vmId'],
    ['a short secret', { secret: SECRET.slice(0, 42) }, 'secret'],
    ['a secret with a quote', { secret: `${SECRET}"` }, 'secret'],
    ['a secret with a space', { secret: `${SECRET} x` }, 'secret'],
    ['user info in the agent URL', { agentUrl: 'https://vm:pw@fleet.example.com' }, 'agentUrl'],
    ['a query on the agent URL', { agentUrl: 'https://fleet.example.com/?x=1' }, 'agentUrl'],
    ['an ftp agent URL', { agentUrl: 'ftp://fleet.example.com' }, 'agentUrl'],
    ['a bare label', { labels: ['debian'] }, 'labels[0]'],
    ['a 30 s max idle', { maxIdleSeconds: 30 }, 'maxIdleSeconds'],
    ['root as the host user', { hostUser: 'root' }, 'hostUser'],
    ['a host user that is no POSIX name', { hostUser: 'CI user' }, 'hostUser'],
    [
      'a host user with docker labels',
      { hostUser: 'ci', labels: ['linux:host', 'node:docker://node:22'] },
      'hostUser',
    ],
  ] as const)('refuses %s, naming the field and never the secret', (_case, overrides, path) => {
    const error = (() => {
      try {
        renderWarmUserData(warmHost(overrides as Partial<WarmBootstrap>));
      } catch (caught) {
        return caught;
      }
    })();

    expect(error).toBeInstanceOf(InvalidRunnerBootstrapError);
    expect((error as InvalidRunnerBootstrapError).issues.map((i) => i.path)).toEqual([path]);
    expect((error as Error).message).not.toContain(SECRET.slice(0, 42));
  });
});

describe('warmBootstrapFromConfig', () => {
  const config = {
    fleet_id: 'prod-eu',
    runner: {
      install: { mode: 'baked', binary_path: '/opt/forgejo-runner' },
      install_docker: true,
      allow_metadata: false,
    },
  } as const;
  const route = Route.parse({
    name: 'linux',
    labels: ['debian'],
    runner_labels: ['debian:docker://node:22-bookworm'],
    providers: ['hetzner'],
    warm: { min_idle: 2, max_idle_age: '2h' },
  });

  it('prepares a warm VM of a route exactly as a cold one', () => {
    const warm = warmBootstrapFromConfig({
      config,
      route,
      vmId: VM_ID,
      secret: SECRET,
      agentUrl: 'https://f.example/',
    });
    const cold = bootstrapFromConfig({
      config: { ...config, forgejo: { instance_url: 'https://git.example.com' } } as never,
      route,
      runner: { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: 'x'.repeat(40), name: 'ff-1' },
    });

    expect(warm).toEqual({
      agentUrl: 'https://f.example/',
      vmId: VM_ID,
      secret: SECRET,
      labels: ['debian:docker://node:22-bookworm'],
      install: { mode: 'baked', binaryPath: '/opt/forgejo-runner' },
      docker: { install: true },
      blockMetadataForContainers: true,
      blockMetadataForHostUser: true,
      maxIdleSeconds: 7200,
      fleetId: 'prod-eu',
    });
    const keys = [
      'labels',
      'install',
      'docker',
      'blockMetadataForContainers',
      'hostUser',
      'blockMetadataForHostUser',
      'fleetId',
    ] as const;
    for (const key of keys) {
      expect(warm[key]).toEqual(cold[key]);
    }
    expect(() => renderWarmUserData(warm)).not.toThrow();
  });

  it('leaves the idle deadline at its default for a route without warm settings', () => {
    const plain = Route.parse({ name: 'linux', labels: ['debian'], providers: ['hetzner'] });
    const warm = warmBootstrapFromConfig({
      config,
      route: plain,
      vmId: VM_ID,
      secret: SECRET,
      agentUrl: 'https://f.example',
    });

    expect(warm).not.toHaveProperty('maxIdleSeconds');
    expect(assignments(file(renderWarmUserData(warm), WARM_BOOTSTRAP_PATH)).get('DEADLINE_MINUTES')).toBe(
      '80',
    );
  });
});

const cloudInit = (await validateWithCloudInit('#cloud-config\n{}\n')) !== 'unavailable';
const shellcheckAvailable = (await shellcheck('#!/bin/sh\ntrue\n')).code !== 'missing';

describe('warm user-data checks', () => {
  it.skipIf(!cloudInit).each(renderings)('cloud-init schema accepts %s', async (_name, input) => {
    expect(await validateWithCloudInit(renderWarmUserData({ ...input, ...placeholder }))).toMatchObject({
      ok: true,
    });
  });

  // Both exclusions are about the functions shared with the cold bootstrap: SC2317 is
  // shellcheck 0.9 not seeing that trap handlers run, SC2174 the intended `mkdir -p -m 0755`
  // (only the runner's own directory needs the mode).
  it.skipIf(!shellcheckAvailable).each(renderings)(
    'the bootstrap for %s is shellcheck-clean',
    async (_n, input) => {
      const script = file(renderWarmUserData(input), WARM_BOOTSTRAP_PATH);
      expect(await shellcheck(script, ['SC2317', 'SC2174'])).toEqual({ code: 0, output: '' });
    },
  );
});
