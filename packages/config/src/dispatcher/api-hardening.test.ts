import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../issues.js';
import { parseDispatcherConfig } from './load.js';

const files: Record<string, string> = {
  '/creds/forgejo': 'forgejo-pat',
  '/creds/client-a': 'client-a-token',
  '/creds/client-b': 'client-b-token',
  '/creds/ops': 'ops-token',
};

function readFile(path: string): string {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return text;
}

// biome-ignore lint/suspicious/noExplicitAny: fixtures reach into arbitrary YAML shapes
function config(change: (c: Record<string, any>) => void = () => undefined) {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const c: Record<string, any> = {
    fleet_id: 'test',
    forgejo: {
      api_url: 'http://127.0.0.1:3000',
      instance_url: 'https://git.example.com',
      token_file: 'forgejo',
    },
    providers: { local: { kind: 'shell', command: ['/bin/provider'] } },
    routes: [{ name: 'small', labels: ['linux'], providers: ['local'] }],
    scopes: { 'org:acme': null },
    clients: [
      { name: 'autoscaler', token_file: 'client-a', scopes: ['*'] },
      { name: 'acme', token_file: 'client-b', scopes: ['org:acme'] },
    ],
  };
  change(c);
  return parseDispatcherConfig(stringify(c), {
    file: 'config.yaml',
    env: { CREDENTIALS_DIRECTORY: '/creds', OPS: 'ops-token', SAME: 'client-b-token' },
    readFile,
    baseDir: '/etc/fleet',
  });
}

// biome-ignore lint/suspicious/noExplicitAny: see above
function errorsOf(change: (c: Record<string, any>) => void): string[] {
  try {
    config(change);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines();
    throw error;
  }
  return [];
}

describe('agent.public_url', () => {
  it.each([
    ['https://fleet.example.com:8443', {}],
    ['http://127.0.0.1:8081', {}],
    ['http://127.8.9.10:8081', {}],
    ['http://localhost:8081', {}],
    ['http://[::1]:8081', {}],
    ['http://10.0.0.5:8081', { allow_insecure_http: true }],
  ])('accepts %s %j', (url, extra) => {
    expect(errorsOf((c) => (c.agent = { public_url: url, ...extra }))).toEqual([]);
  });

  it.each([
    'http://fleet.example.com',
    'http://10.0.0.5:8081',
    'http://127.0.0.1.example.com',
    'http://[::2]:8081',
  ])('refuses plain %s without allow_insecure_http', (url) => {
    expect(errorsOf((c) => (c.agent = { public_url: url }))).toEqual([
      expect.stringMatching(
        /^config\.yaml: agent\.public_url: must be https:\/\/ .*allow_insecure_http: true$/,
      ),
    ]);
  });

  it('names a trusted proxy that is not an address', () => {
    expect(
      errorsOf((c) => (c.agent = { public_url: 'https://f.example.com', trusted_proxies: ['proxy'] })),
    ).toEqual([expect.stringMatching(/^config\.yaml: agent\.trusted_proxies\[0\]: /)]);
  });
});

describe('reconcile.min_gap', () => {
  it('defaults to 2 s and takes 0 up to 1 h', () => {
    expect(config().reconcile.min_gap).toBe(2_000);
    expect(config((c) => (c.reconcile = { min_gap: '0s' })).reconcile.min_gap).toBe(0);
    expect(errorsOf((c) => (c.reconcile = { min_gap: '2h' }))).toEqual([
      expect.stringMatching(/^config\.yaml: reconcile\.min_gap: duration 2h is out of range/),
    ]);
  });
});

describe('ops', () => {
  it('takes a listener and a token from a file or the environment', () => {
    const ops = config((c) => (c.ops = { listen: { port: 9090 }, token_env: 'OPS' })).ops;
    expect(ops?.listen).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(ops?.token?.reveal()).toBe('ops-token');
    expect(config((c) => (c.ops = { token_file: 'ops' })).ops?.listen).toBeUndefined();
  });

  it.each([
    [{ token: 'inline' }, /^config\.yaml: ops\.token: secrets may not be written inline/],
    [{ listen: { port: 70_000 } }, /^config\.yaml: ops\.listen\.port: /],
    [{ path: '/x' }, /^config\.yaml: ops\.path: unknown key/],
  ])('refuses %j', (ops, message) => {
    expect(errorsOf((c) => (c.ops = ops))).toEqual([expect.stringMatching(message)]);
  });
});

describe('tokens (checked once the secret files are read; never printed)', () => {
  it.each([
    [
      'two clients, one token file',
      // biome-ignore lint/suspicious/noExplicitAny: see above
      (c: Record<string, any>) => (c.clients[1].token_file = 'client-a'),
      'config.yaml: clients[1].token_file: same token as clients[0]; every client needs its own token',
    ],
    [
      'two clients, the same token from env and file',
      // biome-ignore lint/suspicious/noExplicitAny: see above
      (c: Record<string, any>) => {
        c.clients[0].token_file = 'client-b';
        delete c.clients[1].token_file;
        c.clients[1].token_env = 'SAME';
      },
      'config.yaml: clients[1].token_env: same token as clients[0]; every client needs its own token',
    ],
    [
      'the ops token is a client token',
      // biome-ignore lint/suspicious/noExplicitAny: see above
      (c: Record<string, any>) => (c.ops = { token_env: 'SAME' }),
      'config.yaml: ops.token_env: same token as clients[1]; the ops token must be one no API client holds',
    ],
  ])('%s', (_name, change, message) => {
    const errors = errorsOf(change);
    expect(errors).toEqual([message]);
    expect(errors.join('\n')).not.toMatch(/client-[ab]-token/);
  });
});
