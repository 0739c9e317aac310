/**
 * Packs the built tree into one self-contained tarball an operator extracts to /opt
 * (docs/install-systemd.md):
 *
 *   npm run release                      # npm run build, then this script
 *   node --import tsx scripts/release.ts [--out DIR]
 *
 * release/forgejo-fleet-<version>-linux-<arch>-node<abi>.tar.gz holds forgejo-fleet-<version>/ with
 * every workspace's package.json, dist/ and bin/, the production dependencies (`npm ci --omit=dev`
 * from the lock file, so nothing but the npm registry or its cache is reached), bin/ with the three
 * commands, deploy/ (the systemd units), the example configs, the docs and RELEASE.json.
 *
 * Native addons (better-sqlite3) are not rebuilt: install scripts would download prebuilt binaries
 * from outside the npm registry or compile for minutes. Their build/ is copied from this checkout's
 * node_modules, built for the Node running this script: hence <abi> (process.versions.modules) in
 * the name. Build the release with the Node major the hosts run.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const root = fileURLToPath(new URL('../', import.meta.url));
// Shipped beside the code: what the units, `--help` texts and the install guide refer to.
// The two check scripts the install and upgrade docs run on a host (both need only a shell,
// curl and jq; smoke-live.sh finds runtime-http-smoke.sh beside itself).
const EXTRAS = [
  'README.md',
  'config.example.yaml',
  'autoscaler.example.yaml',
  'deploy',
  'docs',
  'scripts/runtime-http-smoke.sh',
  'scripts/smoke-live.sh',
];

const RootManifest = z.object({ version: z.string().min(1), workspaces: z.array(z.string()).min(1) });
const WorkspaceManifest = z.object({ name: z.string(), bin: z.record(z.string(), z.string()).optional() });

class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
}

function readJson<T>(file: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new ReleaseError(`${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** Workspace folders from the root's `workspaces` (`dir/*` or a folder), relative to the root. */
function workspaceDirs(patterns: readonly string[]): string[] {
  return patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, parent, entry.name, 'package.json')))
      .map((entry) => `${parent}/${entry.name}`)
      .sort();
  });
}

function copyWorkspace(dir: string, stage: string): void {
  const dist = join(root, dir, 'dist');
  if (!existsSync(dist)) throw new ReleaseError(`${dir}/dist is missing: run "npm run build" first`);
  mkdirSync(join(stage, dir), { recursive: true });
  cpSync(join(root, dir, 'package.json'), join(stage, dir, 'package.json'));
  cpSync(dist, join(stage, dir, 'dist'), {
    recursive: true,
    filter: (source) => !source.endsWith('.tsbuildinfo') && !source.endsWith('.test.js'),
  });
  for (const extra of ['bin', 'README.md']) {
    if (existsSync(join(root, dir, extra)))
      cpSync(join(root, dir, extra), join(stage, dir, extra), { recursive: true });
  }
}

/** Every folder under `dir` that holds a native addon's binding.gyp, relative to `dir`. */
function nativeAddons(dir: string, at = ''): string[] {
  const here = join(dir, at);
  if (existsSync(join(here, 'binding.gyp'))) return [at];
  return readdirSync(here, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.isSymbolicLink() && entry.name !== '.bin')
    .flatMap((entry) => nativeAddons(dir, join(at, entry.name)));
}

function copyNativeBuilds(stage: string): void {
  const modules = join(stage, 'node_modules');
  for (const addon of nativeAddons(modules)) {
    const built = join(root, 'node_modules', addon, 'build', 'Release');
    if (!existsSync(built)) throw new ReleaseError(`${built} is missing: run "npm ci" in ${root} first`);
    const target = join(modules, addon, 'build', 'Release');
    mkdirSync(target, { recursive: true });
    for (const file of readdirSync(built).filter((name) => name.endsWith('.node'))) {
      cpSync(join(built, file), join(target, file));
    }
  }
}

/** bin/<command> → the workspace's shim, relative so the tree can live anywhere. */
function linkCommands(dirs: readonly string[], stage: string): string[] {
  mkdirSync(join(stage, 'bin'));
  const commands: string[] = [];
  for (const dir of dirs) {
    const { bin } = readJson(join(root, dir, 'package.json'), WorkspaceManifest);
    for (const [command, file] of Object.entries(bin ?? {})) {
      symlinkSync(relative(join(stage, 'bin'), join(stage, dir, file)), join(stage, 'bin', command));
      commands.push(command);
    }
  }
  return commands;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export function buildRelease(out: string): string {
  const manifest = readJson(join(root, 'package.json'), RootManifest);
  const name = `forgejo-fleet-${manifest.version}`;
  const tarball = join(out, `${name}-linux-${process.arch}-node${process.versions.modules}.tar.gz`);
  const stage = join(out, '.stage', name);
  rmSync(dirname(stage), { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  const dirs = workspaceDirs(manifest.workspaces);
  for (const dir of dirs) copyWorkspace(dir, stage);
  for (const file of ['package.json', 'package-lock.json', ...EXTRAS]) {
    mkdirSync(dirname(join(stage, file)), { recursive: true });
    cpSync(join(root, file), join(stage, file), { recursive: true });
  }
  execFileSync(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  copyNativeBuilds(stage);
  const commands = linkCommands(dirs, stage);
  const release = {
    version: manifest.version,
    node: process.versions.node,
    node_abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    commit: gitCommit() ?? null,
    commands,
  };
  writeFileSync(join(stage, 'RELEASE.json'), `${JSON.stringify(release, null, 2)}\n`);

  // Root-owned entries in a stable order: extracted as root under /opt, nothing belongs to the builder.
  execFileSync('tar', [
    '--create',
    '--gzip',
    '--file',
    tarball,
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--directory',
    dirname(stage),
    name,
  ]);
  rmSync(dirname(stage), { recursive: true, force: true });
  return tarball;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  try {
    const tarball = buildRelease(resolve(values.out ?? join(root, 'release')));
    process.stdout.write(`${tarball}\n`);
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    process.stderr.write(`release: ${error.message}\n`);
    process.exitCode = 1;
  }
}
