import { describe } from 'vitest';
import { T0 } from './__fixtures__/dispatch.js';
import { storeConformance } from './conformance/index.js';
import { openSqliteStore } from './sqlite.js';

describe('sqlite store conformance', () => {
  storeConformance({
    name: 'sqlite',
    open: async (options) => openSqliteStore(':memory:', { now: options?.now ?? (() => T0) }),
  });
});
