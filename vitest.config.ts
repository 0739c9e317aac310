import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition,
// so tests run the real code without a build step.
const conditions = ['source', 'node', 'import', 'default'];

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
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
