import { providerSchemas } from '@forgejo-fleet/providers/schemas';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../issues.js';
import { parseDispatcherConfig } from './load.js';
import { PROVIDER_KINDS, ProviderConfig, scopeCredentialsSchema } from './provider-config.js';

/** A dispatcher config with one provider entry `p` and a scope override of it. */
function errorsOf(provider: unknown, override?: unknown): string[] {
  const doc = {
    fleet_id: 'test-fleet',
    forgejo: { api_url: 'http://127.0.0.1:3000', instance_url: 'https://git.example.com', token_env: 'FT' },
    providers: { p: provider },
    routes: [{ name: 'small', labels: ['linux'], providers: ['p'] }],
    scopes: { 'org:acme': override === undefined ? {} : { providers: { p: override } } },
    clients: [{ name: 'autoscaler', token_env: 'CT', scopes: ['*'] }],
  };
  try {
    parseDispatcherConfig(stringify(doc), { file: 'config.yaml', env: { FT: 'f', CT: 'c', HT: 'h' } });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.lines();
  }
}

const HETZNER = {
  kind: 'hetzner',
  token_env: 'HT',
  server_types: ['cpx22'],
  locations: ['fsn1'],
  image: 'x',
};

describe('the providers section, assembled from the providers’ own schemas', () => {
  it('is the union of every kind in the providers’ list, in its order', () => {
    expect(ProviderConfig.options).toEqual(providerSchemas.map((schema) => schema.options));
    expect(PROVIDER_KINDS).toEqual(['ec2', 'hetzner', 'kubernetes', 'shell']);
  });

  it('names the known kinds for an unknown one', () => {
    expect(errorsOf({ kind: 'gcp' })).toEqual([
      'config.yaml: providers.p.kind: unknown provider kind (known: ec2, hetzner, kubernetes, shell)',
    ]);
  });

  it.each(providerSchemas.map((schema) => [schema.kind, schema] as const))(
    '%s: scope overrides are checked by the kind’s credentials schema',
    (kind, schema) => {
      expect(scopeCredentialsSchema(kind)).toBe(schema.credentials);
    },
  );

  it('a scope override is checked against its provider’s kind, naming the field', () => {
    expect(errorsOf(HETZNER, { token_env: 'HT' })).toEqual([]);
    expect(errorsOf(HETZNER, { secret_files: {} })).toEqual([
      'config.yaml: scopes["org:acme"].providers.p.secret_files: unknown key (known: token_file, token_env, token)',
      'config.yaml: scopes["org:acme"].providers.p.token_file: required: set token_file or token_env',
    ]);
  });
});
