import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const version = z
  .object({ version: z.string() })
  .parse(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))).version;
const work = mkdtempSync(join(tmpdir(), 'fleet-release-'));
const children: ChildProcess[] = [];
let prefix: string;
let tarball: string;

/** The built entries the release packs; CI builds before testing (.ci/run), so missing ones are an error there. */
function missingBuilds(): string[] {
  return ['apps', 'packages'].flatMap((parent) =>
    readdirSync(join(root, parent))
      .filter((name) => existsSync(join(root, parent, name, 'package.json')))
      .filter((name) => !existsSync(join(root, parent, name, 'dist')))
      .map((name) => `${parent}/${name}/dist`),
  );
}

beforeAll(async () => {
  const missing = missingBuilds();
  if (missing.length > 0) {
    if (process.env.CI)
      throw new Error(`not built: ${missing.join(', ')}; run "npm run build" before the tests`);
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }
  const out = join(work, 'out');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/release.ts', '--out', out], {
    cwd: root,
  });
  tarball = stdout.trim();
  prefix = join(work, 'opt');
  execFileSync('mkdir', ['-p', prefix]);
  execFileSync('tar', ['-xzf', tarball, '-C', prefix]);
  prefix = join(prefix, `forgejo-fleet-${version}`);
}, 180_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('npm run release', () => {
  it('names the tarball by version, platform, architecture and Node ABI', () => {
    expect(tarball).toBe(
      join(
        work,
        'out',
        `forgejo-fleet-${version}-linux-${process.arch}-node${process.versions.modules}.tar.gz`,
      ),
    );
  });

  it('ships the three commands, the units, the example configs and no development tools', () => {
    for (const file of [
      'bin/forgejo-fleet',
      'bin/forgejo-fleet-dispatcher',
      'bin/forgejo-fleet-autoscaler',
      'deploy/systemd/forgejo-fleet-dispatcher.service',
      'deploy/systemd/forgejo-fleet-autoscaler.service',
      'config.example.yaml',
      'autoscaler.example.yaml',
      'apps/dispatcher/dist/main.js',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    ]) {
      expect(existsSync(join(prefix, file)), file).toBe(true);
    }
    // The checks install-systemd.md and upgrading.md run from the release directory.
    for (const script of ['scripts/runtime-http-smoke.sh', 'scripts/smoke-live.sh']) {
      expect(statSync(join(prefix, script)).mode & 0o111, script).not.toBe(0);
    }
    expect(execFileSync(join(prefix, 'scripts/smoke-live.sh'), ['-h'], { encoding: 'utf8' })).toMatch(
      /runtime-http-smoke\.sh/,
    );
    for (const dev of ['tsx', 'typescript', 'vitest', 'apps/cli/src']) {
      const path = dev.includes('/') ? join(prefix, dev) : join(prefix, 'node_modules', dev);
      expect(existsSync(path), dev).toBe(false);
    }
  });

  it('the installed CLI answers --version and validates the shipped example without secrets', async () => {
    const cli = join(prefix, 'bin/forgejo-fleet');

    const versionOut = await run(cli, ['--version'], { cwd: work });
    const validate = await run(
      cli,
      ['validate-config', '--no-secrets', '--dispatcher', join(prefix, 'config.example.yaml')],
      {
        cwd: work,
      },
    );

    expect(versionOut.stdout).toBe(`${version}\n`);
    expect(validate.stdout).toBe('ok (secrets not read)\n');
  });

  describe('the installed dispatcher', () => {
    let forgejo: RunningFakeForgejo;
    beforeAll(async () => {
      forgejo = await startFakeForgejo();
    });
    afterAll(() => forgejo.close());

    it('serves /healthz from the install and exits 0 on SIGTERM', async () => {
      const config = join(work, 'dispatcher.yaml');
      writeFileSync(
        config,
        `
fleet_id: release-test
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'fleet.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: '${forgejo.url}', instance_url: '${forgejo.url}', token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
      );
      const child = spawn(join(prefix, 'bin/forgejo-fleet-dispatcher'), ['--config', config], {
        cwd: work,
        env: { PATH: process.env.PATH, FT: 'forgejo-token', CT: 'client-token-0123456789' },
      });
      children.push(child);
      let output = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // The dispatcher logs its URL once it listens (port 0: the kernel picked it).
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"dispatcher listening"/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
      });

      const health = await fetch(`${url}/healthz`);
      child.kill('SIGTERM');

      expect(health.status).toBe(200);
      expect(await exited).toBe(0);
    });
  });
});
