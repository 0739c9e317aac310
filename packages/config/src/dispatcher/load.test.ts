import { Secret } from '@forgejo-fleet/runtime/config';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../issues.js';
import { parseDispatcherConfig } from './load.js';

const files: Record<string, string> = {
  '/creds/forgejo': 'forgejo-pat\n',
  '/creds/acme': 'acme-pat',
  '/creds/hcloud': 'hcloud-token',
  '/creds/client-a': 'client-a-token',
  '/creds/client-b': 'client-b-token',
  '/creds/empty': '  \n',
};

function readFile(path: string): string {
  const text = files[path];
  if (text === undefined) {
    throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
  }
  return text;
}

function base(): Record<string, unknown> {
  return {
    fleet_id: 'test-fleet',
    forgejo: {
      api_url: 'http://127.0.0.1:3000',
      instance_url: 'https://git.example.com',
      token_file: 'forgejo',
    },
    providers: {
      local: { kind: 'shell', command: ['/bin/provider'] },
      'hetzner-fsn': {
        kind: 'hetzner',
        token_file: 'hcloud',
        server_types: ['cpx22'],
        locations: ['fsn1'],
        image: 'ubuntu-24.04',
      },
    },
    routes: [
      { name: 'small', labels: ['linux'], providers: ['local'] },
      { name: 'big', labels: ['linux', 'big'], providers: ['hetzner-fsn', 'local'] },
    ],
    scopes: { 'org:acme': { forgejo_token_file: 'acme' }, 'user:alice': null },
    clients: [
      { name: 'autoscaler', token_file: 'client-a', scopes: ['*'] },
      { name: 'alice', token_file: 'client-b', scopes: ['user:alice'] },
    ],
  };
}

function load(doc: unknown, env: Record<string, string> = {}) {
  const text = typeof doc === 'string' ? doc : stringify(doc);
  return parseDispatcherConfig(text, {
    file: 'config.yaml',
    env: { CREDENTIALS_DIRECTORY: '/creds', ...env },
    readFile,
    baseDir: '/etc/fleet',
  });
}

function errorsOf(doc: unknown): string[] {
  try {
    load(doc);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines();
    throw error;
  }
  throw new Error('expected a ConfigError');
}

// biome-ignore lint/suspicious/noExplicitAny: fixtures reach into arbitrary YAML shapes
function edit(change: (c: Record<string, any>) => void): Record<string, unknown> {
  const c = base();
  change(c);
  return c;
}

describe('loading a valid dispatcher config', () => {
  it('keeps a route runner override to the keys it sets (no defaults that mask the top level)', () => {
    const config = load(
      edit((c) => {
        c.runner = { install: { mode: 'download', url: 'https://example.com/r', sha256: 'a'.repeat(64) } };
        c.routes[0].runner = { install_docker: true };
      }),
    );
    expect(config.routes[0]?.runner).toEqual({ install_docker: true });
  });

  it('needs the agent endpoint for a warm pool, and a warm provider from the route', () => {
    expect(errorsOf(edit((c) => (c.routes[0].warm = { min_idle: 2 })))).toEqual([
      'config.yaml: routes[0].warm: a warm pool needs the agent endpoint: set agent.public_url (and agent.listen)',
    ]);
    expect(
      errorsOf(
        edit((c) => {
          c.agent = { public_url: 'https://fleet.example.com' };
          c.routes[0].warm = { min_idle: 2, provider: 'hetzner-fsn' };
        }),
      ),
    ).toEqual([
      'config.yaml: routes[0].warm.provider: "hetzner-fsn" is not one of this route\'s providers (local)',
    ]);
  });

  it('resolves secrets, defaults and scopes', () => {
    const config = load(base());
    expect(config.forgejo.token).toBeInstanceOf(Secret);
    expect(config.forgejo.token?.reveal()).toBe('forgejo-pat');
    expect(config.scopes.map((s) => [s.key, s.forgejo_token.reveal(), s.forgejo_token_key])).toEqual([
      ['org:acme', 'acme-pat', 'scopes."org:acme".forgejo_token'],
      ['user:alice', 'forgejo-pat', 'forgejo.token (the default)'],
    ]);
    expect(config.clients[0]?.scopes).toBe('*');
    expect(config.routes[0]?.runner_labels).toEqual(['linux:host']);
    expect(config.routes[0]?.timeouts).toEqual({
      boot: 300_000,
      pickup: 600_000,
      job: 21_600_000,
      max_lifetime: 25_200_000,
      pickup_retries: 2,
    });
    expect(config.store.path).toBe('/etc/fleet/forgejo-fleet.db');
    expect(config.store.decision_log).toBe('/etc/fleet/decisions.jsonl');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('never prints a secret', () => {
    const config = load(base());
    const text = JSON.stringify(config) + String(config.forgejo.token);
    for (const secret of ['forgejo-pat', 'acme-pat', 'hcloud-token', 'client-a-token']) {
      expect(text).not.toContain(secret);
    }
  });

  it('reads secrets from env and puts the store in $STATE_DIRECTORY', () => {
    const doc = edit((c) => {
      c.forgejo = { ...c.forgejo, token_file: undefined, token_env: 'FORGEJO_TOKEN' };
    });
    const config = load(doc, { FORGEJO_TOKEN: 'from-env', STATE_DIRECTORY: '/var/lib/fleet' });
    expect(config.forgejo.token?.reveal()).toBe('from-env');
    expect(config.store.path).toBe('/var/lib/fleet/forgejo-fleet.db');
  });

  it('resolves relative secret paths against the config dir without $CREDENTIALS_DIRECTORY', () => {
    const config = parseDispatcherConfig(stringify(base()), {
      file: 'config.yaml',
      env: {},
      readFile: (p) =>
        p === '/etc/fleet/forgejo' ? 'beside-config' : readFile(p.replace('/etc/fleet/', '/creds/')),
      baseDir: '/etc/fleet',
    });
    expect(config.forgejo.token?.reveal()).toBe('beside-config');
  });
});

// Each case: a broken config, and the `path: message` fragment its error must contain.
const badConfigs: [string, unknown, string][] = [
  ['YAML syntax error', 'fleet_id: [unclosed', 'line 1, column'],
  [
    'duplicate YAML key',
    'fleet_id: a\nfleet_id: b\n',
    'line 2, column 1: YAML error: Map keys must be unique',
  ],
  ['top level is a list', '- a\n- b\n', 'expected a mapping'],
  [
    'fleet_id wrong type',
    edit((c) => {
      c.fleet_id = 42;
    }),
    'fleet_id: expected a name, got number 42',
  ],
  [
    'fleet_id missing',
    edit((c) => {
      delete c.fleet_id;
    }),
    'fleet_id: required',
  ],
  [
    'fleet_id with capitals',
    edit((c) => {
      c.fleet_id = 'Acme CI';
    }),
    'fleet_id: expected lowercase',
  ],
  [
    'Forgejo URL with the API path',
    edit((c) => {
      c.forgejo.api_url = 'https://git.example.com/api/v1';
    }),
    'forgejo.api_url: "https://git.example.com/api/v1" ends with /api/v1: give the server\'s base URL (e.g. https://git.example.com/)',
  ],
  [
    'Forgejo URL of a subpath install with the API path',
    edit((c) => {
      c.forgejo.instance_url = 'https://example.com/git/api/v1/';
    }),
    'forgejo.instance_url: "https://example.com/git/api/v1/" ends with /api/v1: give the server\'s base URL (e.g. https://example.com/git)',
  ],
  [
    'unknown top-level key',
    edit((c) => {
      c.rutes = [];
    }),
    'rutes: unknown key (did you mean "routes"?)',
  ],
  [
    'unknown nested key',
    edit((c) => {
      c.routes[0].lables = ['x'];
    }),
    'routes[0].lables: unknown key (did you mean "labels"?)',
  ],
  [
    'unknown provider key for its kind',
    edit((c) => {
      c.providers.local.region = 'x';
    }),
    'providers.local.region: unknown key',
  ],
  [
    'inline secret',
    edit((c) => {
      c.forgejo.token = 'abc';
    }),
    'forgejo.token: secrets may not be written inline',
  ],
  [
    'inline provider secret',
    edit((c) => {
      c.providers['hetzner-fsn'].token = 'abc';
    }),
    'providers.hetzner-fsn.token: secrets may not be written inline',
  ],
  [
    'missing required secret',
    edit((c) => {
      delete c.providers['hetzner-fsn'].token_file;
    }),
    'providers.hetzner-fsn.token_file: required: set token_file or token_env',
  ],
  [
    'secret file and env both set',
    edit((c) => {
      c.forgejo.token_env = 'X';
    }),
    'forgejo.token_env: set only one of token_file and token_env',
  ],
  [
    'unreadable secret file',
    edit((c) => {
      c.forgejo.token_file = 'nope';
    }),
    'forgejo.token_file: cannot read secret file /creds/nope: file does not exist',
  ],
  [
    'empty secret file',
    edit((c) => {
      c.clients[1].token_file = 'empty';
    }),
    'clients[1].token_file: secret file /creds/empty is empty',
  ],
  [
    'unset secret env',
    edit((c) => {
      delete c.forgejo.token_file;
      c.forgejo.token_env = 'NOT_SET';
    }),
    'forgejo.token_env: environment variable NOT_SET is not set',
  ],
  [
    'bad api url',
    edit((c) => {
      c.forgejo.api_url = 'localhost:3000';
    }),
    'forgejo.api_url: ',
  ],
  [
    'ftp instance url',
    edit((c) => {
      c.forgejo.instance_url = 'ftp://git.example.com';
    }),
    'forgejo.instance_url: URL "ftp://git.example.com" must use http or https',
  ],
  [
    'credentials in url',
    edit((c) => {
      c.forgejo.api_url = 'http://u:p@127.0.0.1';
    }),
    'forgejo.api_url: URL must not contain credentials',
  ],
  [
    'bad duration',
    edit((c) => {
      c.routes[0].timeouts = { pickup: '10 minutes' };
    }),
    'routes[0].timeouts.pickup: invalid duration "10 minutes"',
  ],
  [
    'duration out of range',
    edit((c) => {
      c.forgejo.timeout = '5m';
    }),
    'forgejo.timeout: duration 5m is out of range',
  ],
  [
    'duration as number',
    edit((c) => {
      c.reconcile = { interval: 15 };
    }),
    'reconcile.interval: expected a duration',
  ],
  [
    'unknown provider kind',
    edit((c) => {
      c.providers.local.kind = 'gcp';
    }),
    'providers.local.kind: ',
  ],
  [
    'unknown provider in a route',
    edit((c) => {
      c.routes[1].providers = ['hetznr'];
    }),
    'routes[1].providers[0]: unknown provider "hetznr" (known: local, hetzner-fsn)',
  ],
  [
    'ambiguous routes',
    edit((c) => {
      c.routes.push({ name: 'gpu', labels: ['linux', 'gpu'], providers: ['local'] });
      c.routes[0].labels = ['linux', 'x'];
    }),
    'routes[2].labels: ambiguous with routes[1]',
  ],
  [
    'identical label sets',
    edit((c) => {
      c.routes[1].labels = ['linux'];
    }),
    'routes[1].labels: ambiguous with routes[0]',
  ],
  [
    'duplicate route names',
    edit((c) => {
      c.routes[1].name = 'small';
    }),
    'routes[1].name: duplicate route name "small"',
  ],
  [
    'duplicate client names',
    edit((c) => {
      c.clients[1].name = 'autoscaler';
    }),
    'clients[1].name: duplicate client name',
  ],
  [
    'two clients sharing a token',
    edit((c) => {
      c.clients[1].token_file = 'client-a';
    }),
    'clients[1].token_file: same token as clients[0]',
  ],
  [
    'client scope not configured',
    edit((c) => {
      c.clients[1].scopes = ['org:other'];
    }),
    'clients[1].scopes[0]: scope "org:other" is not configured',
  ],
  [
    'malformed scope key',
    edit((c) => {
      c.scopes['team:x'] = {};
    }),
    'scopes["team:x"]: scope "team:x": expected instance',
  ],
  [
    'duplicate scope differing in case',
    edit((c) => {
      c.scopes['org:ACME'] = {};
    }),
    'scopes["org:ACME"]: duplicate scope',
  ],
  [
    'scope without any token',
    edit((c) => {
      delete c.forgejo.token_file;
    }),
    'scopes["user:alice"].forgejo_token_file: no Forgejo token',
  ],
  [
    'scope override for unknown provider',
    edit((c) => {
      c.scopes['org:acme'].providers = { aws: {} };
    }),
    'scopes["org:acme"].providers.aws: unknown provider "aws"',
  ],
  [
    'scope override of the wrong kind',
    edit((c) => {
      c.scopes['org:acme'].providers = { 'hetzner-fsn': { role_arn: 'x' } };
    }),
    'scopes["org:acme"].providers.hetzner-fsn.role_arn: unknown key',
  ],
  [
    'runner label missing for a route label',
    edit((c) => {
      c.routes[1].runner_labels = ['linux:host'];
    }),
    'routes[1].runner_labels: no runner label for "big"',
  ],
  [
    'bare runner label',
    edit((c) => {
      c.routes[0].runner_labels = ['linux'];
    }),
    'routes[0].runner_labels[0]: invalid runner label "linux"',
  ],
  [
    'empty labels',
    edit((c) => {
      c.routes[0].labels = [];
    }),
    'routes[0].labels: expected at least one label',
  ],
  [
    'lifetime shorter than the job',
    edit((c) => {
      c.routes[0].timeouts = { job: '6h', max_lifetime: '2h' };
    }),
    'routes[0].timeouts.max_lifetime: must be longer',
  ],
  [
    'negative limit',
    edit((c) => {
      c.routes[0].limits = { max_vms: -1 };
    }),
    'routes[0].limits.max_vms: ',
  ],
  [
    'port out of range',
    edit((c) => {
      c.listen = { port: 70000 };
    }),
    'listen.port: ',
  ],
  [
    'no routes',
    edit((c) => {
      c.routes = [];
    }),
    'routes: expected at least one route',
  ],
  [
    'ec2 without image',
    edit((c) => {
      c.providers.aws = { kind: 'ec2', region: 'eu-central-1', instance_types: ['c7a.large'] };
    }),
    'providers.aws.image_id: required: set image_id or launch_template',
  ],
  [
    'ec2 bad region',
    edit((c) => {
      c.providers.aws = {
        kind: 'ec2',
        region: 'frankfurt',
        image_id: 'ami-0123456789abcdef0',
        instance_types: ['c7a.large'],
      };
    }),
    'providers.aws.region: expected an AWS region',
  ],
  [
    'download install with unquoted numeric sha',
    'fleet_id: x\nrunner:\n  install:\n    mode: download\n    url: https://example.com/r\n    sha256: 0000\n',
    'runner.install.sha256: expected string, got number 0',
  ],
];

describe('a bad dispatcher config', () => {
  it.each(badConfigs)('%s', (_name, doc, expected) => {
    const lines = errorsOf(doc);
    expect(lines.join('\n')).toContain(`config.yaml: ${expected}`);
    for (const line of lines) expect(line).not.toMatch(/\n\s+at /);
  });

  it('reports every problem at once', () => {
    const lines = errorsOf(
      edit((c) => {
        c.routes[0].providers = ['nope'];
        c.routes[1].name = 'small';
      }),
    );
    expect(lines).toHaveLength(2);
  });

  it('never echoes an inline secret back', () => {
    const lines = errorsOf(
      edit((c) => {
        c.forgejo.token = 'super-secret-value';
      }),
    );
    expect(lines.join('\n')).not.toContain('super-secret-value');
  });
});

describe('cloud credentials and the metadata service', () => {
  const ec2 = {
    kind: 'ec2',
    region: 'eu-central-1',
    image_id: 'ami-0123456789abcdef0',
    instance_types: ['c7a.large'],
  };
  // biome-ignore lint/suspicious/noExplicitAny: fixtures reach into arbitrary YAML shapes
  function withAws(aws: Record<string, unknown>, change: (c: Record<string, any>) => void = () => {}) {
    return edit((c) => {
      c.providers.aws = { ...ec2, ...aws };
      c.routes.push({ name: 'ci', labels: ['ci'], providers: ['aws'] });
      change(c);
    });
  }
  const profile = { instance_profile: 'ci-role' };
  const ways =
    'use only docker:// runner labels (containers are kept from it), or set runner.host_user (host-mode jobs run unprivileged and are kept from it), or set runner.allow_metadata: true to hand the credentials to every job';

  it.each([
    [
      'host labels on VMs with an instance profile',
      withAws(profile),
      `config.yaml: routes[2].runner_labels: ci:host: jobs outside docker containers, as root, on VMs of provider "aws" (ec2 instance_profile "ci-role") could take its credentials from the metadata service; ${ways}`,
    ],
    [
      'host labels on VMs from a launch template',
      withAws({ image_id: undefined, launch_template: { name: 'runner' } }),
      `config.yaml: routes[2].runner_labels: ci:host: jobs outside docker containers, as root, on VMs of provider "aws" (ec2 launch_template "runner", which may carry an instance profile) could take its credentials from the metadata service; ${ways}`,
    ],
    [
      'one host label beside a docker one',
      withAws(profile, (c) => {
        c.routes[2].labels = ['ci', 'node'];
        c.routes[2].runner_labels = ['ci:host', 'node:docker://node:22'];
      }),
      `config.yaml: routes[2].runner_labels: ci:host: jobs outside docker containers, as root, on VMs of provider "aws" (ec2 instance_profile "ci-role") could take its credentials from the metadata service; ${ways}`,
    ],
    [
      'an lxc label (not the container mode whose metadata access is blocked)',
      withAws(profile, (c) => {
        c.routes[2].runner_labels = ['ci:lxc://debian:bookworm'];
      }),
      'config.yaml: routes[2].runner_labels: ci:lxc://debian:bookworm: jobs outside docker containers, as root, on VMs of provider "aws"',
    ],
    [
      'the second provider of the chain carrying a profile',
      withAws(profile, (c) => {
        c.routes[2].providers = ['local', 'aws'];
      }),
      'config.yaml: routes[2].runner_labels: ci:host: jobs outside docker containers, as root, on VMs of provider "aws"',
    ],
    [
      'a route turning the top-level allow_metadata off',
      withAws(profile, (c) => {
        c.runner = { allow_metadata: true };
        c.routes[2].runner = { allow_metadata: false };
      }),
      'config.yaml: routes[2].runner_labels: ci:host: jobs outside docker containers, as root, on VMs of provider "aws"',
    ],
    [
      'host_user on a route that also has docker labels (even without credentials)',
      edit((c) => {
        c.routes[0].labels = ['linux', 'node'];
        c.routes[0].runner_labels = ['linux:host', 'node:docker://node:22'];
        c.routes[0].runner = { host_user: 'ci' };
      }),
      'config.yaml: routes[0].runner_labels: runner.host_user "ci" runs host-mode jobs unprivileged, but this route also has node:docker://node:22: to start containers the runner would need root or the docker group, which is root-equivalent; split it into a route of host labels and one of docker:// labels',
    ],
    [
      'root as host_user',
      edit((c) => {
        c.runner = { host_user: 'root' };
      }),
      'config.yaml: runner.host_user: must not be root: host_user exists to run host-mode jobs without root',
    ],
    [
      'a host_user that is no POSIX user name',
      edit((c) => {
        c.routes[0].runner = { host_user: 'CI Runner' };
      }),
      'config.yaml: routes[0].runner.host_user: expected a POSIX user name',
    ],
    [
      'allow_metadata that is not a boolean',
      edit((c) => {
        c.runner = { allow_metadata: 'yes' };
      }),
      'config.yaml: runner.allow_metadata: ',
    ],
  ])('refuses %s', (_case, doc, expected) => {
    expect(errorsOf(doc).join('\n')).toContain(expected);
  });

  it.each([
    [
      'docker labels only',
      withAws(profile, (c) => {
        c.routes[2].runner_labels = ['ci:docker://node:22'];
      }),
    ],
    [
      'host_user on the route',
      withAws(profile, (c) => {
        c.routes[2].runner = { host_user: 'ci' };
      }),
    ],
    [
      'host_user at the top (docker routes keep their root runner)',
      withAws(profile, (c) => {
        c.runner = { host_user: 'ci' };
        c.routes.push({
          name: 'node',
          labels: ['node'],
          runner_labels: ['node:docker://node:22'],
          providers: ['aws'],
        });
      }),
    ],
    [
      'allow_metadata on the route',
      withAws(profile, (c) => {
        c.routes[2].runner = { allow_metadata: true };
      }),
    ],
    ['allow_metadata at the top', withAws(profile, (c) => (c.runner = { allow_metadata: true }))],
    ['an ec2 provider without a profile or template', withAws({})],
    ['hetzner and shell providers (their VMs carry no cloud credentials)', base()],
  ])('accepts %s', (_case, doc) => {
    expect(() => load(doc)).not.toThrow();
  });

  it('keeps the route override to what it sets and defaults the top level', () => {
    const config = load(withAws(profile, (c) => (c.routes[2].runner = { host_user: 'ci' })));

    expect(config.runner).toMatchObject({ allow_metadata: false });
    expect(config.runner).not.toHaveProperty('host_user');
    expect(config.routes[2]?.runner).toEqual({ host_user: 'ci' });
  });
});
