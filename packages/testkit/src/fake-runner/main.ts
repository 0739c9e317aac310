// Entry point of the fake `forgejo-runner`: `node --import tsx packages/testkit/src/fake-runner/main.ts one-job ...`
// from source, or `node packages/testkit/dist/fake-runner/main.js one-job ...` after a build.
import { readFile } from 'node:fs/promises';
import { runFakeRunner } from './run.js';

const controller = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => controller.abort());

process.exitCode = await runFakeRunner(process.argv.slice(2), {
  fetch: globalThis.fetch,
  readFile: (path) => readFile(path, 'utf8'),
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
