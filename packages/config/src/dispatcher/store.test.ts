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
    { file: 'd.yaml', env: { T: 'forgejo-pat', C: 'client-token-0123456789' } },
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
