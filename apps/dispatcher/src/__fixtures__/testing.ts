// `@forgejo-fleet/dispatcher/testing`: the dispatcher's test worlds for tests outside the app
// (test/chaos), so they import the package's exports instead of reaching into its src/.
export { RECONCILE } from '../service/reconcile/context.js';
export { lifecycleWorld, MINUTE, never } from './lifecycle-world.js';
