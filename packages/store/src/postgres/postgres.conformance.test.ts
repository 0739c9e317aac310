import { T0 } from '../__fixtures__/dispatch.js';
import { storeConformance } from '../conformance/index.js';
import { describePostgres } from '../testing/postgres.js';

describePostgres('postgres store conformance', (db) => {
  storeConformance({
    name: 'postgres',
    open: (options) => db.open({ now: options?.now ?? (() => T0) }),
  });
});
