import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The dependency rules of `npm run lint` (.dependency-cruiser.cjs), run on a small planted tree
// with one violation of each rule, and on the repository itself.
const root = fileURLToPath(new URL('../../', import.meta.url));
const depcruise = join(root, 'node_modules/.bin/depcruise');
const config = join(root, '.dependency-cruiser.cjs');

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

/** The lint's own command (its exit code) and the same cruise as JSON (what it found). */
async function cruise(cwd: string, paths: string[]): Promise<{ code: number; violations: Violation[] }> {
  const run = (outputType: string) =>
    new Promise<{ code: number; stdout: string }>((resolve, reject) => {
      execFile(
        depcruise,
        [...paths, '--config', config, '--output-type', outputType],
        { cwd, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout) => {
          if (error && typeof error.code !== 'number') reject(error);
          else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout });
        },
      );
    });
  const [lint, json] = await Promise.all([run('err'), run('json')]);
  const result = JSON.parse(json.stdout) as { summary: { violations: Violation[] } };
  return { code: lint.code, violations: result.summary.violations };
}

/** A workspace like ours: one app `a`, packages `b`, `store`, `providers`, linked by name. */
const TREE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', customConditions: ['source'] },
  }),
  'packages/b/package.json': JSON.stringify({
    name: '@forgejo-fleet/b',
    type: 'module',
    exports: { '.': { source: './src/index.ts' } },
  }),
  'packages/b/src/index.ts': "export { inner } from './inner.js';\n",
  'packages/b/src/inner.ts': 'export const inner = 1;\n',
  'packages/store/package.json': JSON.stringify({
    name: '@forgejo-fleet/store',
    type: 'module',
    exports: { '.': { source: './src/index.ts' } },
  }),
  'packages/providers/package.json': JSON.stringify({
    name: '@forgejo-fleet/providers',
    type: 'module',
    exports: { '.': { source: './src/index.ts' } },
  }),
  'packages/providers/src/index.ts': 'export const provider = 1;\n',
  'apps/a/src/ok.ts': "import { inner } from '@forgejo-fleet/b';\nexport const ok = inner;\n",
};

/** One planted violation per rule: the file, its import, and the rule that must name it. */
const PLANTED = [
  {
    rule: 'no-circular',
    files: {
      'apps/a/src/one.ts': "import { two } from './two.js';\nexport const one = () => two;\n",
      'apps/a/src/two.ts': "import { one } from './one.js';\nexport const two = () => one;\n",
    },
    from: 'apps/a/src/one.ts',
    to: 'apps/a/src/two.ts',
  },
  {
    rule: 'service-not-to-http',
    files: {
      'apps/a/src/http/errors.ts': 'export class ApiError extends Error {}\n',
      'apps/a/src/service/accept.ts':
        "import { ApiError } from '../http/errors.js';\nexport const e = ApiError;\n",
    },
    from: 'apps/a/src/service/accept.ts',
    to: 'apps/a/src/http/errors.ts',
  },
  {
    rule: 'no-reach-into-another-workspace',
    files: {
      'apps/a/src/reach.ts':
        "import { inner } from '../../../packages/b/src/inner.js';\nexport const r = inner;\n",
    },
    from: 'apps/a/src/reach.ts',
    to: 'packages/b/src/inner.ts',
  },
  {
    rule: 'not-to-unresolvable',
    files: {
      'apps/a/src/reach-by-name.ts':
        "import { inner } from '@forgejo-fleet/b/src/inner.js';\nexport const r = inner;\n",
    },
    from: 'apps/a/src/reach-by-name.ts',
    to: '@forgejo-fleet/b/src/inner.js',
  },
  {
    rule: 'packages-not-to-apps',
    files: {
      'packages/b/src/up.ts': "import { ok } from '@forgejo-fleet/a';\nexport const up = ok;\n",
      'apps/a/package.json': JSON.stringify({
        name: '@forgejo-fleet/a',
        type: 'module',
        exports: { '.': { source: './src/ok.ts' } },
      }),
    },
    from: 'packages/b/src/up.ts',
    to: 'apps/a/src/ok.ts',
  },
  {
    rule: 'store-is-a-leaf',
    files: {
      'packages/store/src/index.ts':
        "import { provider } from '@forgejo-fleet/providers';\nexport const s = provider;\n",
    },
    from: 'packages/store/src/index.ts',
    to: 'packages/providers/src/index.ts',
  },
  {
    rule: 'no-reach-into-src-from-outside',
    files: {
      'test/e2e.test.ts': "import { inner } from '../packages/b/src/inner.js';\nexport const t = inner;\n",
    },
    from: 'test/e2e.test.ts',
    to: 'packages/b/src/inner.ts',
  },
] as const;

let tree: string;
let planted: { code: number; violations: Violation[] };
beforeAll(async () => {
  tree = mkdtempSync(join(tmpdir(), 'dependency-rules-'));
  const files = Object.assign({}, TREE, ...PLANTED.map((p) => p.files)) as Record<string, string>;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
  // npm workspaces link every package by name, as in the repository.
  mkdirSync(join(tree, 'node_modules/@forgejo-fleet'), { recursive: true });
  for (const [name, dir] of [
    ['a', 'apps/a'],
    ['b', 'packages/b'],
    ['store', 'packages/store'],
    ['providers', 'packages/providers'],
  ]) {
    symlinkSync(join(tree, dir ?? ''), join(tree, 'node_modules/@forgejo-fleet', name ?? ''), 'dir');
  }
  planted = await cruise(tree, ['apps', 'packages', 'test']);
});
afterAll(() => rmSync(tree, { recursive: true, force: true }));

describe('dependency rules (npm run lint)', () => {
  it.each(PLANTED)('reports a planted $rule violation: $from → $to', async ({ rule, from, to }) => {
    const { code, violations } = planted;

    expect(code).not.toBe(0);
    expect(violations.map((v) => [v.rule.name, v.from, v.to])).toContainEqual([rule, from, to]);
  });

  it('reports nothing else: an import through a package name and its exports passes', async () => {
    const { violations } = planted;

    const expected = new Set(PLANTED.map((p) => `${p.rule} ${p.from}`));
    // The cycle is reported from both of its ends; the planted reach from a package up into the
    // app also closes no other rule.
    const unexpected = violations.filter(
      (v) =>
        !expected.has(`${v.rule.name} ${v.from}`) &&
        !(v.rule.name === 'no-circular' && v.from === 'apps/a/src/two.ts'),
    );
    expect(unexpected).toEqual([]);
  });

  it("passes on the repository's own tree", async () => {
    const { code, violations } = await cruise(root, ['apps', 'packages', 'test', 'scripts']);

    expect(violations).toEqual([]);
    expect(code).toBe(0);
  });
});
