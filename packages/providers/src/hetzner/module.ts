import { type ProviderModule, scopeCredentials } from '../provider-module.js';
import { HetznerResolvedCredentials } from './config-schema.js';
import { createHetznerProvider } from './index.js';

/** `kind: hetzner` in the registry; a scope's project token replaces the provider's own. */
export const hetznerModule: ProviderModule<'hetzner'> = {
  create: (name, config, scopeOverride, deps) =>
    createHetznerProvider(name, config, scopeCredentials(HetznerResolvedCredentials, scopeOverride), {
      ...deps.hetzner,
      ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    }),
};
