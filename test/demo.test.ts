import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const run = (args: string[]) =>
  promisify(execFile)(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'scripts/demo.ts', ...args],
    {
      cwd: root,
      timeout: 150_000,
    },
  );

// Keeps the README's first quick-start command true.
describe('npm run demo', () => {
  it('runs every routable job through the autoscaler and the dispatcher, leaves the unroutable one waiting, leaves nothing behind', async () => {
    const { stdout } = await run([]);
    expect(stdout).toMatch(/no route +gpu-train +no route takes labels \[gpu\]/);
    // The autoscaler, not the script, dispatched them: once each, for the configured scope.
    expect(stdout.match(/dispatched +\S+ +→ \S+ on route \S+ for org:acme/g)).toHaveLength(5);
    expect(stdout.match(/finished +\S+ +[\d.]+s after queueing/g)).toHaveLength(5);
    expect(stdout).toContain(
      'summary: 5/5 jobs succeeded, 1 unroutable left waiting, 0 VMs and 0 runner registrations left',
    );
  }, 160_000);

  it('refuses a bad --jobs value', async () => {
    await expect(run(['--jobs', 'many'])).rejects.toMatchObject({ code: 64 });
  });

  it('refuses a mistyped option with the usage, not a stack trace', async () => {
    const refused = await run(['--job', '3']).catch((error: { code: number; stderr: string }) => error);

    expect(refused).toMatchObject({ code: 64 });
    expect((refused as { stderr: string }).stderr).toMatch(/^demo: Unknown option '--job'/);
    expect((refused as { stderr: string }).stderr).toContain('usage: npm run demo [-- --jobs N]');
    expect((refused as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });
});
