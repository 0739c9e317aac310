import { fileURLToPath } from 'node:url';

/**
 * How to start the fake runner as a process: `node ...nodeArgs path one-job --url ...`. From source (tests,
 * tsx) the path is `src/fake-runner/main.ts` and `nodeArgs` is `['--import', 'tsx']`; from a build it is
 * `dist/fake-runner/main.js` and `nodeArgs` is empty.
 */
export function fakeRunnerEntry(): { path: string; nodeArgs: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(fromSource ? './main.ts' : './main.js', import.meta.url));
  return { path, nodeArgs: fromSource ? ['--import', 'tsx'] : [] };
}
