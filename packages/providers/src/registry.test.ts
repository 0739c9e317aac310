import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadDispatcherConfig, PROVIDER_KINDS } from '@forgejo-fleet/config';
import { describe, expect, it } from 'vitest';
import { createProvider, providerModules, sharedProviderDeps } from './registry.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function exampleConfig() {
  return loadDispatcherConfig(`${root}config.example.yaml`, {
    env: { CREDENTIALS_DIRECTORY: '/run/credentials/fleet' },
    readFile: (path) =>
      path.startsWith('/run/credentials/') ? `secret:${path}` : readFileSync(path, 'utf8'),
  });
}

describe('provider registry', () => {
  it('has one module for every provider kind the config knows', () => {
    expect(Object.keys(providerModules).sort()).toEqual([...PROVIDER_KINDS].sort());
    for (const [kind, module] of Object.entries(providerModules)) expect(module.kind).toBe(kind);
  });

  it('builds every provider of config.example.yaml, and the scope overrides, without calling anything', () => {
    const config = exampleConfig();
    const deps = sharedProviderDeps();
    for (const [name, entry] of Object.entries(config.providers)) {
      const provider = createProvider(name, entry, undefined, deps);
      expect(provider).toMatchObject({ name, kind: entry.kind });
      expect(provider.choices.length).toBeGreaterThan(0);
      for (const scope of config.scopes) {
        const override = scope.providers[name];
        if (override !== undefined) expect(createProvider(name, entry, override, deps).kind).toBe(entry.kind);
      }
    }
    function entry(name: string) {
      const found = config.providers[name];
      if (found === undefined) throw new Error(`config.example.yaml has no provider ${name}`);
      return found;
    }
    const hetzner = createProvider('hetzner-fsn', entry('hetzner-fsn'));
    expect(hetzner.choices.map((c) => c.key)).toEqual(['cpx22@fsn1', 'cpx22@nbg1', 'cx23@fsn1', 'cx23@nbg1']);
    const ec2 = createProvider('aws-eu', entry('aws-eu'));
    expect(ec2.choices[0]?.market).toBe('spot');
    expect(ec2.choices.at(-1)?.market).toBe('on-demand');
    expect(typeof ec2.deleteMany).toBe('function');
  });
});
