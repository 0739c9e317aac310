import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The two dependency rules of `npm run lint` that keep this package below the config package
// (.dependency-cruiser.cjs), run on a small planted tree shaped like ours.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const depcruise = join(root, 'node_modules/.bin/depcruise');

const pkg = (name: string, exports: Record<string, string>) =>
  JSON.stringify({
    name,
    type: 'module',
    exports: Object.fromEntries(Object.entries(exports).map(([k, v]) => [k, { source: v }])),
  });
const fakeModule = (name: string) => ({
  [`node_modules/${name}/package.json`]: JSON.stringify({ name, type: 'module', main: 'index.js' }),
  [`node_modules/${name}/index.js`]: 'export const x = 1;\n',
});

const TREE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', customConditions: ['source'] },
  }),
  'packages/config/package.json': pkg('@forgejo-fleet/config', { '.': './src/index.ts' }),
  'packages/config/src/index.ts':
    "import { kinds } from '@forgejo-fleet/providers/schemas';\nexport const c = kinds;\n",
  'packages/providers/package.json': pkg('@forgejo-fleet/providers', {
    '.': './src/index.ts',
    './schemas': './src/schemas.ts',
  }),
  'packages/providers/src/schemas.ts': [
    "import { ok } from './ok/config-schema.js';",
    "import { sdk } from './sdk/config-schema.js';",
    "import { shared } from './config-schema.js';",
    'export const kinds = [ok, sdk, shared];',
    '',
  ].join('\n'),
  'packages/providers/src/config-schema.ts': 'export const shared = 1;\n',
  'packages/providers/src/ok/config-schema.ts':
    "import { shared } from '../config-schema.js';\nexport const ok = shared;\n",
  // Loads an SDK through a helper module: reachable, so refused.
  'packages/providers/src/sdk/config-schema.ts':
    "import { client } from './client.js';\nexport const sdk = client;\n",
  'packages/providers/src/sdk/client.ts':
    "import { x } from '@aws-sdk/client-ec2';\nexport const client = x;\n",
  'packages/providers/src/http/config-schema.ts': "import { x } from 'undici';\nexport const http = x;\n",
  // The provider itself may load what it needs.
  'packages/providers/src/index.ts': "import { x } from 'execa';\nexport const run = x;\n",
  'packages/providers/src/up.ts': "import { c } from '@forgejo-fleet/config';\nexport const up = c;\n",
  ...fakeModule('@aws-sdk/client-ec2'),
  ...fakeModule('undici'),
  ...fakeModule('execa'),
};

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

let tree: string;
let violations: Violation[];
beforeAll(async () => {
  tree = mkdtempSync(join(tmpdir(), 'provider-layering-'));
  for (const [path, text] of Object.entries(TREE)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
  mkdirSync(join(tree, 'node_modules/@forgejo-fleet'), { recursive: true });
  for (const name of ['config', 'providers']) {
    symlinkSync(join(tree, 'packages', name), join(tree, 'node_modules/@forgejo-fleet', name), 'dir');
  }
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      depcruise,
      ['packages', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'],
      { cwd: tree, maxBuffer: 64 * 1024 * 1024 },
      (error, out) => (error && typeof error.code !== 'number' ? reject(error) : resolve(out)),
    );
  });
  violations = (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
});
afterAll(() => rmSync(tree, { recursive: true, force: true }));

describe('provider layering rules', () => {
  it('refuses an import of the config package from the providers', () => {
    expect(
      violations.filter((v) => v.rule.name === 'providers-not-to-config').map((v) => [v.from, v.to]),
    ).toEqual([['packages/providers/src/up.ts', 'packages/config/src/index.ts']]);
  });

  it('refuses a schema file that loads an SDK, undici or execa, directly or through another module', () => {
    const found = violations
      .filter((v) => v.rule.name === 'provider-schemas-load-no-sdk')
      .map((v) => `${v.from} -> ${v.to}`)
      .sort();
    expect(found).toEqual([
      'packages/providers/src/http/config-schema.ts -> node_modules/undici/index.js',
      'packages/providers/src/schemas.ts -> node_modules/@aws-sdk/client-ec2/index.js',
      'packages/providers/src/sdk/config-schema.ts -> node_modules/@aws-sdk/client-ec2/index.js',
    ]);
  });
});
