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

  it.each(['kind', 'createLocally', 'urlFile'])('the module declares database.%s', (option) => {
    expect(read('nix/module.nix')).toMatch(new RegExp(`^ {6}${option} = mkOption`, 'm'));
  });

  it('the module applies nix/database.nix to the dispatcher: store settings, environment, credentials, units, postgresql', () => {
    const module = read('nix/module.nix');

    expect(module).toContain('database = import ./database.nix {');
    expect(module).toContain(
      'services.forgejo-fleet.dispatcher.settings.store = lib.mapAttrs (_: lib.mkDefault) database.store;',
    );
    expect(module).toContain('services.forgejo-fleet.dispatcher.credentials = database.credentials;');
    expect(module).toContain('services.postgresql = mkIf (database.postgresql != null) database.postgresql;');
    expect(module).toMatch(/requires = database\.units;\s+environment = database\.environment;/);
    expect(module).toContain('after = lib.optional forgejoOnHost "forgejo.service" ++ database.units;');
    expect(module).toMatch(
      /map \(message: \{\s+assertion = false;\s+inherit message;\s+\}\) database\.errors/,
    );
  });

  it('the flake checks the VM test on both stores: SQLite and a local PostgreSQL', () => {
    const flake = read('flake.nix');
    const vmTest = read('nix/tests/vm-test.nix');

    const check = flake.slice(flake.indexOf('vm-test-postgres = import ./nix/tests/vm-test.nix {'));
    expect(check.slice(0, check.indexOf('};'))).toContain('database = "postgres";');
    expect(vmTest).toContain('database ? "sqlite",');
    expect(vmTest).toMatch(/database = \{\s+kind = database;\s+createLocally = true;/);
    expect(vmTest).toContain('SELECT count(*) FROM dispatches');
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

/** nix/database.nix is plain Nix (builtins only): evaluated for real, without nixpkgs. */
describe('the NixOS database option (nix/database.nix, evaluated)', () => {
  const evaluator = hasTool('nix-instantiate');

  async function evaluate(args: string): Promise<Record<string, unknown>> {
    const { stdout } = await promisify(execFile)('nix-instantiate', [
      '--eval',
      '--strict',
      '--json',
      '-E',
      `import ${join(root, 'nix/database.nix')} ({ kind = "sqlite"; createLocally = true; urlFile = null; user = "forgejo-fleet-dispatcher"; } // ${args})`,
    ]);
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  const skip = evaluator ? '' : ' (skipped: nix-instantiate not installed; Debian package nix-bin)';

  it.skipIf(!evaluator)(`sqlite (the default) changes nothing${skip}`, async () => {
    expect(await evaluate('{ }')).toEqual({
      errors: [],
      store: {},
      environment: {},
      credentials: {},
      units: [],
      postgresql: null,
    });
  });

  it.skipIf(!evaluator)(
    `postgres with createLocally: a local database and role by peer authentication over the socket, the unit after postgresql${skip}`,
    async () => {
      expect(await evaluate('{ kind = "postgres"; }')).toEqual({
        errors: [],
        store: { kind: 'postgres', url_env: 'FORGEJO_FLEET_DATABASE_URL', tls: { mode: 'disable' } },
        environment: {
          FORGEJO_FLEET_DATABASE_URL:
            'postgres://forgejo-fleet-dispatcher@localhost/forgejo-fleet-dispatcher?host=/run/postgresql',
        },
        credentials: {},
        units: ['postgresql.service'],
        postgresql: {
          enable: true,
          ensureDatabases: ['forgejo-fleet-dispatcher'],
          ensureUsers: [{ name: 'forgejo-fleet-dispatcher', ensureDBOwnership: true }],
        },
      });
    },
  );

  it.skipIf(!evaluator)(
    `postgres with urlFile: the URL as a credential, TLS left to settings.store.tls, no local server${skip}`,
    async () => {
      expect(
        await evaluate('{ kind = "postgres"; createLocally = false; urlFile = "/run/agenix/fleet-db"; }'),
      ).toEqual({
        errors: [],
        store: { kind: 'postgres', url_file: 'database-url' },
        environment: {},
        credentials: { 'database-url': '/run/agenix/fleet-db' },
        units: [],
        postgresql: null,
      });
    },
  );

  it.skipIf(!evaluator).each([
    [
      '{ kind = "postgres"; createLocally = false; }',
      'services.forgejo-fleet.database: kind = "postgres" needs urlFile (a file holding postgres://user:password@host:port/database) or createLocally = true.',
    ],
    [
      '{ kind = "postgres"; urlFile = "/run/keys/db"; }',
      'services.forgejo-fleet.database: urlFile and createLocally exclude each other (a local database needs no URL).',
    ],
    [
      '{ urlFile = "/run/keys/db"; }',
      'services.forgejo-fleet.database.urlFile is only for kind = "postgres".',
    ],
  ])(`%s is refused by an assertion naming the option${skip}`, async (args, message) => {
    expect((await evaluate(args)).errors).toEqual([message]);
  });
});
