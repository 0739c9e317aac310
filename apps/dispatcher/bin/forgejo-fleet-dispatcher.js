#!/usr/bin/env node
// The command's entry, linked by npm (node_modules/.bin) and by the release's bin/.
// Built (`npm run build`, or the release tarball): runs dist/main.js.
// A source checkout that was never built: runs src/main.ts through tsx (a root devDependency)
// with the workspaces' "source" export condition, as `npm run demo` does, so the command works
// right after `npm ci`. A stale dist/ wins over newer sources: run `npm run build` after a pull.
// The same file in every app (test/deploy/bins.test.ts checks they stay identical).
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const built = new URL('../dist/main.js', import.meta.url);
const source = new URL('../src/main.ts', import.meta.url);
// EX_SOFTWARE: neither a build nor a runnable source tree; nothing a restart could fix.
const EXIT_NOT_BUILT = 70;

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

if (existsSync(built)) {
  await import(built.href);
} else {
  const tsx = existsSync(source) ? await loadTsx() : undefined;
  if (tsx === undefined) {
    const root = new URL('../../..', import.meta.url).pathname;
    process.stderr.write(
      `${process.argv[1] ?? 'forgejo-fleet'}: not built (${built.pathname} is missing) and no sources with tsx to run instead; run "npm ci && npm run build" in ${root}\n`,
    );
    process.exitCode = EXIT_NOT_BUILT;
  } else {
    // Hooks run last-registered first: tsx maps .js specifiers to .ts, then this hook adds the
    // "source" condition so @forgejo-fleet/* resolve to their src/ instead of a missing dist/.
    const sourceCondition =
      'export function resolve(specifier, context, next) { return next(specifier, { ...context, conditions: [...context.conditions, "source"] }); }';
    register(`data:text/javascript,${encodeURIComponent(sourceCondition)}`);
    tsx.register();
    await import(source.href);
  }
}
