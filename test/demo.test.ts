import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

// Keeps the README's first quick-start command true.
describe('npm run demo', () => {
  it('runs every routable job, leaves the unroutable one waiting, and leaves nothing behind', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'scripts/demo.ts'],
      { cwd: root, timeout: 60_000 },
    );
    expect(stdout).toContain('gpu-train [gpu]: no route has every label');
    expect(stdout).toMatch(/done: 5\/5 routable jobs ran, 1 left waiting, 0 runner registrations left/);
    expect(stdout.match(/finished \S+: runner exit 0, job success/g)).toHaveLength(5);
  });
});
