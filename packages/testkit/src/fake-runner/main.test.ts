import { spawn } from 'node:child_process';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startWorld, type World } from './__fixtures__/setup.js';
import { fakeRunnerEntry } from './entry.js';

let w: World;
beforeEach(async () => {
  w = await startWorld();
});
afterEach(async () => {
  await w.close();
});

function run(argv: string[], env: Record<string, string> = {}) {
  const entry = fakeRunnerEntry();
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [...entry.nodeArgs, entry.path, ...argv], {
      env: { ...process.env, FAKE_RUNNER_JOB_MS: '0', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('main.ts runs one job as a process and exits 0; a bad uuid exits 1', async () => {
  const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['vm'] });
  const { argv } = await w.registerRunner();
  const [ok, bad] = await Promise.all([
    run([...argv, '--label', 'vm:host', '--handle', job.handle, '--wait', '--fetch-interval', '50ms']),
    run(['one-job', '--url', w.fake.url, '--uuid', 'nope', '--token-url', 'file:///dev/null']),
  ]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('declared successfully');
  expect(w.fake.jobs()[0]?.status).toBe('success');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('invalid --uuid');
});
