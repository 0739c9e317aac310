import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasTool } from './tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function nixFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'dist') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return nixFiles(path);
    return entry.name.endsWith('.nix') ? [relative(root, path)] : [];
  });
}

const files = nixFiles(root);
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('Nix files', () => {
  it('are the flake, the package, the module and the VM test', () => {
    expect(files).toEqual(
      expect.arrayContaining(['flake.nix', 'nix/package.nix', 'nix/module.nix', 'nix/tests/vm-test.nix']),
    );
  });

  const parser = hasTool('nix-instantiate');
  it.skipIf(!parser).each(files)(
    `%s parses with nix-instantiate --parse${parser ? '' : ' (skipped: nix-instantiate not installed; Debian package nix-bin)'}`,
    async (file) => {
      const { stdout } = await promisify(execFile)('nix-instantiate', ['--parse', join(root, file)]);

      expect(stdout.length).toBeGreaterThan(0);
    },
  );

  it('the flake exports packages, nixosModules.default and a VM test check', () => {
    const flake = read('flake.nix');

    expect(flake).toMatch(/packages = forAllSystems/);
    expect(flake).toMatch(/nixosModules\.default =/);
    expect(flake).toMatch(/vm-test = import \.\/nix\/tests\/vm-test\.nix/);
  });

  it('the package builds from the lockfile with a documented npmDepsHash and installs the three bins', () => {
    const pkg = read('nix/package.nix');

    expect(pkg).toContain('buildNpmPackage');
    expect(pkg).toMatch(/npmDepsHash = "sha256-[A-Za-z0-9+/=]{44}";/);
    expect(pkg).toMatch(/# npmDepsHash pins the npm dependencies\. After any change to package-lock\.json/);
    for (const bin of ['forgejo-fleet-dispatcher', 'forgejo-fleet-autoscaler', 'forgejo-fleet']) {
      expect(pkg).toContain(`:${bin} `.trimEnd());
    }
  });

  it.each(['enable', 'settings', 'configFile', 'credentials', 'extraEnv', 'allowPending'])(
    'the module declares %s for each service',
    (option) => {
      expect(read('nix/module.nix')).toMatch(new RegExp(`^ {6}${option} = mkOption`, 'm'));
    },
  );

  it('the module passes credentials with LoadCredential, warns on store paths, and reads Forgejo URLs from services.forgejo', () => {
    const module = read('nix/module.nix');

    expect(module).toContain('LoadCredential = [ "config.yaml:');
    expect(module).toMatch(/is in the Nix store .*which every local user can read/);
    expect(module).toContain('forgejoServer.ROOT_URL');
    expect(module).toContain('pkgs.formats.yaml');
  });

  // The module's units and deploy/systemd/ must not drift apart: every hardening directive of
  // the plain units is set in the module too.
  it('the module sets every hardening directive of deploy/systemd/forgejo-fleet-dispatcher.service', () => {
    const unit = read('deploy/systemd/forgejo-fleet-dispatcher.service');
    const sandbox = unit.slice(unit.indexOf('# --- sandbox'), unit.indexOf('[Install]'));
    const keys = [...sandbox.matchAll(/^([A-Za-z]+)=/gm)].map((m) => m[1]);
    const module = read('nix/module.nix');

    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((key) => !new RegExp(`^ {4}${key} = `, 'm').test(module))).toEqual([]);
  });
});
