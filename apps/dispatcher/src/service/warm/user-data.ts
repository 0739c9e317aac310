import { renderWarmUserData, warmBootstrapFromConfig } from '@forgejo-fleet/cloud-init';
import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { WarmUserData } from './pool.js';

/** The warm user-data renderer for this config: the route's runner setup plus the agent. */
export function warmUserDataFromConfig(config: DispatcherConfig): WarmUserData {
  return ({ route, vmId, secret, agentUrl }) =>
    renderWarmUserData(warmBootstrapFromConfig({ config, route, vmId, secret, agentUrl }));
}
