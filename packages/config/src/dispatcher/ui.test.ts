import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseDispatcherConfig } from './load.js';

function config(ui: unknown) {
  const c: Record<string, unknown> = {
    fleet_id: 'test',
    forgejo: { api_url: 'http://127.0.0.1:3000', instance_url: 'https://git.example.com', token_env: 'F' },
    providers: { local: { kind: 'shell', command: ['/bin/provider'] } },
    routes: [{ name: 'small', labels: ['linux'], providers: ['local'] }],
    scopes: { 'org:acme': null },
    clients: [{ name: 'autoscaler', token_env: 'C', scopes: ['*'] }],
    ...(ui === undefined ? {} : { ui }),
  };
  return parseDispatcherConfig(stringify(c), {
    file: 'config.yaml',
    env: { F: 'forgejo-pat', C: 'client-token-0123456789' },
  });
}

describe('ui (the status page)', () => {
  it.each([
    [undefined, false],
    [{}, false],
    [{ trust_forwarded_proto: true }, true],
  ])('reads %j as trust_forwarded_proto %s', (ui, trusted) => {
    expect(config(ui).ui.trust_forwarded_proto).toBe(trusted);
  });

  it.each([
    [{ trust_forwarded_proto: 'yes' }, /config\.yaml: ui\.trust_forwarded_proto: /],
    [{ trust_proxy: true }, /config\.yaml: ui\.trust_proxy: unknown key \(known: trust_forwarded_proto\)/],
  ])('refuses %j naming the field', (ui, message) => {
    expect(() => config(ui)).toThrow(message);
  });
});
