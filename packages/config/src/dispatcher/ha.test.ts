import { describe, expect, it } from 'vitest';
import { ConfigError } from '../issues.js';
import { parseDispatcherConfig } from './load.js';

function config(ha: string) {
  return parseDispatcherConfig(
    `
fleet_id: f
forgejo: { api_url: 'http://127.0.0.1:3000', instance_url: 'https://git.example.com', token_env: T }
ha: ${ha}
providers:
  local: { kind: shell, command: [/bin/provider] }
routes:
  - { name: small, labels: [linux], providers: [local] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: C, scopes: ['*'] }
`,
    { file: 'd.yaml', env: { T: 'forgejo-pat', C: 'client-token-0123456789' } },
  );
}

describe('ha', () => {
  it('defaults to a 15 s lease renewed by the dispatcher (ttl / 3)', () => {
    expect(config('{}').ha).toEqual({ lease_ttl: 15_000 });
  });

  it('takes the operator values', () => {
    expect(config('{ lease_ttl: 30s, renew_every: 5s }').ha).toEqual({
      lease_ttl: 30_000,
      renew_every: 5_000,
    });
  });

  it.each([
    ['a lease under 3 s', '{ lease_ttl: 2s }', 'ha.lease_ttl'],
    ['a lease over 5 min', '{ lease_ttl: 6m }', 'ha.lease_ttl'],
    [
      'renewing less than twice per lease',
      '{ lease_ttl: 10s, renew_every: 6s }',
      'ha.renew_every: must be at most half',
    ],
    ['an unknown key', '{ lease: 10s }', 'ha'],
  ])('refuses %s, naming the field', (_, ha, message) => {
    expect(() => config(ha)).toThrow(ConfigError);
    expect(() => config(ha)).toThrow(message);
  });
});
