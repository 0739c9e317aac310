import { execFile } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

const BINS = [
  ['forgejo-fleet', 'apps/cli'],
  ['forgejo-fleet-dispatcher', 'apps/dispatcher'],
  ['forgejo-fleet-autoscaler', 'apps/autoscaler'],
] as const;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root as the README writes it; never throws on a non-zero exit. */
async function sh(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, [...args], { cwd: root, env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

// npm_config_yes=false: a command npm did not link must fail here, not be installed from the registry.
function npx(...args: string[]): Promise<Result> {
  return sh('npx', args, { ...process.env, npm_config_yes: 'false' });
}

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe.concurrent('the three commands from the repository root (npx, as the README says)', () => {
  it.each(BINS)('%s --help prints usage with options, environment and exit codes, exit 0', async (bin) => {
    const result = await npx(bin, '--help');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: /);
    for (const section of ['Options:', 'Environment:', 'Exit codes:', '  64 ']) {
      expect(result.stdout).toContain(section);
    }
  });

  it.each(BINS)('%s --version prints the package version, exit 0', async (bin) => {
    const result = await npx(bin, '--version');

    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it.each(BINS)('%s with an unknown option exits 64 with usage on stderr', async (bin) => {
    const result = await npx(bin, '--no-such-option');

    expect(result.code).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/unknown option ['"]--no-such-option['"]/i);
    expect(result.stderr).toContain('Usage: ');
  });

  it('the dispatcher documents its store exit codes', async () => {
    const { stdout } = await npx('forgejo-fleet-dispatcher', '--help');

    for (const code of ['65', '69', '78']) expect(stdout).toMatch(new RegExp(`^ {2}${code} `, 'm'));
  });

  it.each([
    ['--dispatcher', 'config.example.yaml'],
    ['--autoscaler', 'autoscaler.example.yaml'],
  ])('forgejo-fleet validate-config --no-secrets %s %s exits 0 on a fresh clone', async (flag, file) => {
    const result = await npx('forgejo-fleet', 'validate-config', '--no-secrets', flag, file);

    expect(result).toEqual({ code: 0, stdout: 'ok (secrets not read)\n', stderr: '' });
  });
});

describe('the bin shims', () => {
  it('are one identical, executable file in every app, linked by each package.json', () => {
    const shims = BINS.map(([bin, app]) => {
      const manifest = JSON.parse(readFileSync(join(root, app, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      };
      expect(manifest.bin).toEqual({ [bin]: `./bin/${bin}.js` });
      const file = join(root, app, 'bin', `${bin}.js`);
      expect(statSync(file).mode & 0o111).toBe(0o111);
      return readFileSync(file, 'utf8');
    });

    expect(shims[0]).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(new Set(shims).size).toBe(1);
  });

  // A throwaway app inside the checkout, so tsx and @forgejo-fleet/* resolve from the root's node_modules.
  const app = mkdtempSync(join(root, 'test/deploy/.shim-'));
  const shim = join(app, 'bin', 'shim.js');
  mkdirSync(join(app, 'bin'));
  copyFileSync(join(root, 'apps/cli/bin/forgejo-fleet.js'), shim);
  chmodSync(shim, 0o755);
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('without a build or sources, exit 70 and say what to run', async () => {
    const result = await sh(shim, []);

    expect(result.code).toBe(70);
    expect(result.stderr).toContain(`not built (${join(app, 'dist/main.js')} is missing)`);
    expect(result.stderr).toContain('run "npm ci && npm run build"');
  });

  it('without a build, run the TypeScript sources with the workspaces resolved to their sources', async () => {
    mkdirSync(join(app, 'src'));
    writeFileSync(
      join(app, 'src/main.ts'),
      "const where: string = import.meta.resolve('@forgejo-fleet/runtime');\nconsole.log(where, process.argv.slice(2).join(' '));\n",
    );

    const result = await sh(shim, ['a', 'b']);

    expect(result).toEqual({
      code: 0,
      stdout: `${new URL('packages/runtime/src/index.ts', `file://${root}`).href} a b\n`,
      stderr: '',
    });
  });

  it('with a build, run dist/main.js (and its exit code) rather than the sources', async () => {
    mkdirSync(join(app, 'dist'));
    writeFileSync(
      join(app, 'dist/main.js'),
      "console.log('built', process.argv.slice(2).join(' '));\nprocess.exitCode = 3;\n",
    );

    const result = await sh(shim, ['x']);

    expect(result).toEqual({ code: 3, stdout: 'built x\n', stderr: '' });
  });
});
