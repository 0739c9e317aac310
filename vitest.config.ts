import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition,
// so tests run the real code without a build step. Not "import": vitest passes these to the
// test processes as --conditions, where "import" would also match require() calls inside CommonJS
// packages and hand them an ES module (pg's require('pg-pool') then breaks); Node and vite add
// "import" or "require" by the kind of each load themselves.
const conditions = ['source', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    include: ['apps/*/src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    benchmark: {
      include: ['apps/*/src/**/*.bench.ts', 'packages/*/src/**/*.bench.ts', 'test/**/*.bench.ts'],
    },
    coverage: {
      provider: 'v8',
      include: ['apps/*/src/**/*.ts', 'packages/*/src/**/*.ts'],
      // Entry points (`src/main.ts`) run only in the child processes of the bin, main and release
      // tests, which the runner's v8 coverage cannot see.
      exclude: [
        '**/*.test.ts',
        '**/*.bench.ts',
        '**/__fixtures__/**',
        '**/testing/**',
        '**/*.d.ts',
        '**/src/main.ts',
      ],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // Per package: what `npm test` measured on 2026-12-07 (after issues 14, 15 and 17's parts), rounded down
      // with half a point of room for the few timing-dependent paths. Raise them, never lower them.
      thresholds: {
        'apps/autoscaler/src/**': { lines: 93, statements: 90, functions: 92, branches: 82 },
        'apps/cli/src/**': { lines: 94, statements: 90, functions: 95, branches: 80 },
        'apps/dispatcher/src/**': { lines: 92, statements: 90, functions: 93, branches: 80 },
        // cloud-init's own tests need cloud-init, shellcheck and the sandbox tools, which CI installs
        // best effort: these are the figures measured without them (98.1/96.6/100/89.7).
        'packages/cloud-init/src/**': { lines: 97, statements: 96, functions: 99, branches: 89 },
        'packages/config/src/**': { lines: 97, statements: 96, functions: 98, branches: 87 },
        'packages/dispatch-api/src/**': { lines: 97, statements: 96, functions: 97, branches: 85 },
        'packages/forgejo/src/**': { lines: 99, statements: 97, functions: 99, branches: 95 },
        'packages/providers/src/**': { lines: 95, statements: 94, functions: 96, branches: 84 },
        'packages/runtime/src/**': { lines: 99, statements: 98, functions: 97, branches: 95 },
        'packages/store/src/**': { lines: 96, statements: 94, functions: 98, branches: 90 },
        'packages/testkit/src/**': { lines: 97, statements: 95, functions: 97, branches: 88 },
      },
    },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
