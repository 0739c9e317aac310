import type { DispatcherConfig, Route } from '@forgejo-fleet/config';
import { prepareFromConfig } from '../from-config.js';
import type { WarmBootstrap } from './bootstrap.js';

/**
 * Maps the dispatcher config and one route onto the warm renderer's input. A warm VM of a route
 * is prepared exactly as a cold one (same labels, install, Docker, metadata block: see
 * `prepareFromConfig`); the job-specific parts arrive through the agent.
 */
export function warmBootstrapFromConfig(params: {
  readonly config: Pick<DispatcherConfig, 'fleet_id' | 'runner'>;
  readonly route: Route;
  readonly vmId: string;
  readonly secret: string;
  /** The agent endpoint as VMs reach it (`agent.public_url`). */
  readonly agentUrl: string;
}): WarmBootstrap {
  const { config, route } = params;
  return {
    agentUrl: params.agentUrl,
    vmId: params.vmId,
    secret: params.secret,
    ...prepareFromConfig(config, route),
    ...(route.warm === undefined ? {} : { maxIdleSeconds: Math.ceil(route.warm.max_idle_age / 1000) }),
    fleetId: config.fleet_id,
  };
}
