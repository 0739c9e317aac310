import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadedOverride, loadedProvider } from './__fixtures__/loaded-config.js';
import { ScopeOverrideError } from './provider-module.js';
import { createProvider, providerModules, sharedProviderDeps } from './registry.js';
import { PROVIDER_KINDS, providerSchemas } from './schemas.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface ExampleConfig {
  readonly providers: Record<string, { kind: string }>;
  readonly scopes: Record<string, { providers?: Record<string, unknown> }>;
}

function example(): ExampleConfig {
  return parse(readFileSync(`${root}config.example.yaml`, 'utf8')) as ExampleConfig;
}

function exampleProvider(name: string) {
  const entry = example().providers[name];
  if (entry === undefined) throw new Error(`config.example.yaml has no provider ${name}`);
  return loadedProvider(entry);
}

const SHELL = loadedProvider({ kind: 'shell', command: ['/usr/bin/true'] });
const HETZNER = loadedProvider({
  kind: 'hetzner',
  token_file: 'hcloud-token',
  server_types: ['cpx22'],
  locations: ['fsn1'],
  image: 'ubuntu-24.04',
});

describe('provider registry', () => {
  it('has one module for every kind of the schemas list, in its order', () => {
    expect(Object.keys(providerModules)).toEqual(PROVIDER_KINDS);
    expect(PROVIDER_KINDS).toEqual(['ec2', 'hetzner', 'kubernetes', 'shell']);
  });

  it.each(providerSchemas.map((schema) => [schema.kind, schema] as const))(
    "%s: the list's kind is the one its options schema accepts",
    (kind, schema) => {
      const parsed = schema.options.safeParse({ kind: kind === 'ec2' ? 'hetzner' : 'ec2' });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.some((issue) => issue.path.join('.') === 'kind')).toBe(true);
    },
  );

  it('builds every provider of config.example.yaml, and the scope overrides, without calling anything', () => {
    const config = example();
    const deps = sharedProviderDeps();
    for (const [name, raw] of Object.entries(config.providers)) {
      const entry = loadedProvider(raw);
      const provider = createProvider(name, entry, undefined, deps);
      expect(provider).toMatchObject({ name, kind: entry.kind });
      expect(provider.choices.length).toBeGreaterThan(0);
      for (const scope of Object.values(config.scopes)) {
        const override = scope.providers?.[name];
        if (override === undefined) continue;
        const scoped = createProvider(name, entry, loadedOverride(entry.kind, override), deps);
        expect(scoped.kind).toBe(entry.kind);
      }
    }
    const hetzner = createProvider('hetzner-fsn', exampleProvider('hetzner-fsn'));
    expect(hetzner.choices.map((c) => c.key)).toEqual(['cpx22@fsn1', 'cpx22@nbg1', 'cx23@fsn1', 'cx23@nbg1']);
    const ec2 = createProvider('aws-eu', exampleProvider('aws-eu'));
    expect(ec2.choices[0]?.market).toBe('spot');
    expect(ec2.choices.at(-1)?.market).toBe('on-demand');
    expect(typeof ec2.deleteMany).toBe('function');
  });

  it.each([
    ['hetzner', HETZNER, { token: 'plain-text' }, 'token: expected a secret read by the config loader'],
    ['hetzner', HETZNER, { token_file: 'hcloud-token-acme' }, 'Unrecognized key: "token_file"'],
    [
      'shell',
      SHELL,
      { secret_files: [{ name: 'T', value: 'plain' }] },
      'secret_files[0].value: expected a secret read by the config loader',
    ],
  ])(
    '%s: a scope override not in its loaded shape is refused, naming the field',
    (_kind, entry, override, message) => {
      expect(() => createProvider('p', entry, override)).toThrow(ScopeOverrideError);
      expect(() => createProvider('p', entry, override)).toThrow(message);
    },
  );

  it.each([
    ['hetzner', HETZNER, { token_file: 'hcloud-token-acme' }],
    ['shell', SHELL, { secret_files: { API_TOKEN: 'api-token' }, secret_env: { REGION: 'ACME_REGION' } }],
    [
      'ec2',
      exampleProvider('aws-eu'),
      { role_arn: 'arn:aws:iam::123456789012:role/acme', external_id_env: 'EXT' },
    ],
    ['ec2', exampleProvider('aws-eu'), { access_key_id_file: 'ak', secret_access_key_env: 'SK' }],
  ])('%s: a scope override as the config loads it is accepted (%j)', (kind, entry, raw) => {
    const override = loadedOverride(kind, raw, { ACME_REGION: 'eu', EXT: 'ext', SK: 'sk' });
    expect(createProvider('p', entry, override).kind).toBe(kind);
  });

  it("shell: a scope's secrets come on top of the provider's own", async () => {
    const dump = mkdtempSync(join(tmpdir(), 'registry-shell-'));
    try {
      const script = fileURLToPath(new URL('./shell/__fixtures__/scripted.sh', import.meta.url));
      const entry = loadedProvider(
        {
          kind: 'shell',
          command: ['/bin/sh', script],
          env: { DUMP_DIR: dump },
          secret_env: { OWN: 'OWN_ENV' },
        },
        { OWN_ENV: 'own-secret' },
      );
      const override = loadedOverride(
        'shell',
        { secret_env: { SCOPED: 'SCOPED_ENV' } },
        { SCOPED_ENV: 'scoped-secret' },
      );
      const provider = createProvider('local', entry, override, {
        shell: { env: { PATH: process.env.PATH ?? '' } },
      });

      await provider.delete('vm-1');

      const env = readFileSync(join(dump, 'env'), 'utf8').split('\n');
      expect(env).toContain('OWN=own-secret');
      expect(env).toContain('SCOPED=scoped-secret');
    } finally {
      rmSync(dump, { recursive: true, force: true });
    }
  });
});
