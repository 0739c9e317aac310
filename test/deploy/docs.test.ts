import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const OPERATOR_DOCS = [
  'docs/install-nixos.md',
  'docs/install-systemd.md',
  'docs/config-reference.md',
  'docs/api.md',
  'docs/metrics.md',
  'docs/upgrading.md',
  'docs/troubleshooting.md',
  'docs/runner-images.md',
  'README.md',
];

describe('operator docs', () => {
  it.each(OPERATOR_DOCS)('%s links only to files that exist', (doc) => {
    // Code spans and blocks may contain `](` (regular expressions): they are not links.
    const text = readFileSync(join(root, doc), 'utf8')
      .replace(/```[\s\S]*?```/g, '')
      .replace(/`[^`\n]*`/g, '');
    const targets = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1] ?? '')
      .filter((target) => !/^[a-z]+:/.test(target));

    expect(targets.filter((target) => !existsSync(join(root, dirname(doc), target)))).toEqual([]);
  });

  it('troubleshooting explains forgejo-fleet why: route, credential, limits, attempts, timers, state, next step', () => {
    const text = readFileSync(join(root, 'docs/troubleshooting.md'), 'utf8');

    for (const part of [
      '**route**',
      '**credential**',
      '**limits and budgets**',
      '**error class**',
      '**timers**',
      '**current state**',
      '**next step**',
    ]) {
      expect(text).toContain(part);
    }
  });
});

describe('scripts/smoke-local.sh', () => {
  function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(join(root, 'scripts/smoke-local.sh'), args, { timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });
  }

  it('prints its usage with -h', async () => {
    const result = await run(['-h']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: scripts\/smoke-local\.sh/);
  });

  it.each([
    [['--jobs', 'many'], /--jobs takes a whole number/],
    [['--from', 'nowhere'], /--from takes source or dist/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses %j with exit 64 and the reason', async (args, reason) => {
    const result = await run(args);

    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(reason);
  });
});
