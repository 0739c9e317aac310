import { describe, expect, it } from 'vitest';
import { ConfigError } from '../issues.js';
import { parseDispatcherConfig } from './load.js';

function config(store: string) {
  return parseDispatcherConfig(
    `
fleet_id: f
forgejo: { api_url: 'http://127.0.0.1:3000', instance_url: 'https://git.example.com', token_env: T }
store: ${store}
providers:
  local: { kind: shell, command: [/bin/provider] }
routes:
  - { name: small, labels: [linux], providers: [local] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: C, scopes: ['*'] }
`,
    {
      file: 'd.yaml',
      env: { T: 'forgejo-pat', C: 'client-token-0123456789', PG: 'postgres://fleet:pw@db:5432/fleet' },
    },
  );
}

describe('store retention and decision log rotation', () => {
  it('default to 30 days, 100 MiB and 5 files', () => {
    expect(config('{}').store).toMatchObject({
      retention: 30 * 86_400_000,
      decision_log_max_bytes: 104_857_600,
      decision_log_keep: 5,
    });
  });

  it('take the operator values', () => {
    expect(
      config('{ retention: 2h, decision_log_max_bytes: 2097152, decision_log_keep: 2 }').store,
    ).toMatchObject({ retention: 7_200_000, decision_log_max_bytes: 2_097_152, decision_log_keep: 2 });
  });

  it('adopt the store ids the operator lists', () => {
    expect(config("{ adopt_store_ids: ['s0123456789abcdef'] }").store.adopt_store_ids).toEqual([
      's0123456789abcdef',
    ]);
    expect(config('{}').store.adopt_store_ids).toEqual([]);
  });

  it.each([
    ['retention under an hour', '{ retention: 30m }', 'store.retention: duration 30m is out of range'],
    [
      'a log size under 1 MiB',
      '{ decision_log_max_bytes: 1000 }',
      'store.decision_log_max_bytes: expected at least',
    ],
    ['keeping no files', '{ decision_log_keep: 0 }', 'store.decision_log_keep:'],
    [
      'an adopted store id that is not one',
      "{ adopt_store_ids: ['old'] }",
      'store.adopt_store_ids[0]: expected a store id',
    ],
  ])('refuse %s, naming the field', (_name, store, message) => {
    expect(() => config(store)).toThrow(ConfigError);
    expect(() => config(store)).toThrow(message);
  });
});

describe('store kind', () => {
  it('is sqlite by default', () => {
    const store = config('{}').store;

    expect(store.kind).toBe('sqlite');
    expect(store.url).toBeUndefined();
  });

  it('postgres reads the URL from its secret and defaults pool, timeout and TLS', () => {
    const store = config('{ kind: postgres, url_env: PG }').store;

    expect(store).toMatchObject({
      kind: 'postgres',
      pool_max: 10,
      statement_timeout: 5_000,
      tls: { mode: 'verify-full' },
    });
    expect(store.url?.reveal()).toBe('postgres://fleet:pw@db:5432/fleet');
  });

  it('postgres takes the operator values', () => {
    expect(
      config(
        '{ kind: postgres, url_env: PG, pool_max: 3, statement_timeout: 30s, tls: { mode: verify-full, ca_file: /etc/fleet/ca.pem } }',
      ).store,
    ).toMatchObject({
      pool_max: 3,
      statement_timeout: 30_000,
      tls: { mode: 'verify-full', ca_file: '/etc/fleet/ca.pem' },
    });
  });

  it.each([
    ['postgres without a URL', '{ kind: postgres }', 'store.url_file: required with kind: postgres'],
    ['a URL without kind postgres', '{ url_env: PG }', 'store.url_env: only for kind: postgres'],
    [
      'an inline URL',
      "{ kind: postgres, url: 'postgres://x' }",
      'store.url: secrets may not be written inline',
    ],
    ['an unknown kind', '{ kind: mysql }', 'store.kind:'],
    ['a pool of 0', '{ kind: postgres, url_env: PG, pool_max: 0 }', 'store.pool_max:'],
    ['a pool of 101', '{ kind: postgres, url_env: PG, pool_max: 101 }', 'store.pool_max:'],
    [
      'a 20m statement timeout',
      '{ kind: postgres, url_env: PG, statement_timeout: 20m }',
      'store.statement_timeout: duration 20m is out of range',
    ],
    ['an unknown TLS mode', '{ kind: postgres, url_env: PG, tls: { mode: prefer } }', 'store.tls.mode:'],
    [
      'a relative CA file',
      '{ kind: postgres, url_env: PG, tls: { ca_file: ca.pem } }',
      'store.tls.ca_file: expected an absolute path',
    ],
  ])('refuses %s, naming the field', (_name, store, message) => {
    expect(() => config(store)).toThrow(message);
  });

  it('never prints the URL in an error', () => {
    expect(() => config("{ kind: postgres, url: 'postgres://u:hunter2@db/x' }")).not.toThrow(/hunter2/);
  });
});
