import { describe, expect, it } from 'vitest';
import { ConfigError } from '../issues.js';
import { parseDispatcherConfig } from './load.js';

function load(reuse: string) {
  return parseDispatcherConfig(
    `
fleet_id: test
forgejo: { api_url: http://127.0.0.1:3000, instance_url: https://git.example.com, token_env: FT }
providers:
  hz: { kind: hetzner, token_env: HT, server_types: [cpx22], locations: [fsn1], image: ubuntu-24.04 }
routes:
  - { name: small, labels: [linux], providers: [hz]${reuse} }
scopes:
  org:acme: {}
clients:
  - { name: autoscaler, token_env: CT, scopes: ['*'] }
`,
    { file: 'config.yaml', env: { FT: 'forgejo-token', HT: 'hcloud-token', CT: 'client-token-0123456789' } },
  );
}

function errorsOf(reuse: string): string[] {
  try {
    load(reuse);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines();
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('routes[].reuse', () => {
  it('is off by default, with 10 minutes left and the same scope only', () => {
    expect(load('').routes[0]?.reuse).toEqual({ paid_hour: false, min_left: 600_000, same_scope_only: true });
  });

  it('takes the operator’s settings', () => {
    const route = load(', reuse: { paid_hour: true, min_left: 15m, same_scope_only: false }').routes[0];
    expect(route?.reuse).toEqual({ paid_hour: true, min_left: 900_000, same_scope_only: false });
  });

  it.each([
    ['min_left: 30s', 'routes[0].reuse.min_left'],
    ['min_left: 60m', 'routes[0].reuse.min_left'],
    ['paid_hour: yes please', 'routes[0].reuse.paid_hour'],
    ['keep: true', 'routes[0].reuse'],
  ])('refuses %s, naming %s', (setting, path) => {
    const lines = errorsOf(`, reuse: { ${setting} }`);
    expect(lines.join('\n')).toContain(`config.yaml: ${path}`);
  });
});
