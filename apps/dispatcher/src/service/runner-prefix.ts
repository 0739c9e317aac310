import type { Route } from '@forgejo-fleet/config';
import type { ServiceDeps } from './deps.js';

/** The prefix of a route's runner and VM names: the route's, the runner section's, or the fleet id. */
export function runnerPrefix(config: ServiceDeps['config'], route: Route): string {
  return route.runner?.name_prefix ?? config.runner.name_prefix ?? config.fleet_id;
}
