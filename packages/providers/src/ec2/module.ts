import { type ProviderModule, scopeCredentials } from '../provider-module.js';
import { Ec2ResolvedCredentials } from './config-schema.js';
import { createLazyEc2Provider } from './lazy.js';

/**
 * `kind: ec2` in the registry. The provider loads the AWS SDK on its first call (./lazy.ts), so a
 * fleet without EC2 never loads it; a scope's credentials replace the provider's own.
 */
export const ec2Module: ProviderModule<'ec2'> = {
  create: (name, config, scopeOverride, deps) =>
    createLazyEc2Provider(name, config, scopeCredentials(Ec2ResolvedCredentials, scopeOverride), {
      ...deps.ec2,
      ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    }),
};
