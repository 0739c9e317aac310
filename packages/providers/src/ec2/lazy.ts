import type { CallOptions, InstanceSpec, Provider } from '../provider.js';
import { ec2Choices } from './choices.js';
import type { Ec2CredentialsConfig, Ec2ProviderDeps, Ec2ProviderOptions } from './index.js';

type Ec2Provider = Provider & Required<Pick<Provider, 'deleteMany'>>;

/**
 * The EC2 provider, with the AWS SDK loaded on its first call: the SDK is the largest thing the
 * dispatcher could load (about 100 MB of memory), and a fleet on Hetzner or shell providers never
 * needs it. The choices are known without it.
 */
export function createLazyEc2Provider(
  name: string,
  config: Ec2ProviderOptions,
  credentials?: Ec2CredentialsConfig,
  deps: Ec2ProviderDeps = {},
): Ec2Provider {
  let real: Promise<Ec2Provider> | undefined;
  const load = (): Promise<Ec2Provider> => {
    real ??= import('./index.js').then((m) => m.createEc2Provider(name, config, credentials, deps));
    return real;
  };
  return {
    name,
    kind: 'ec2',
    choices: ec2Choices(config),
    create: async (spec: InstanceSpec, options?: CallOptions) => (await load()).create(spec, options),
    delete: async (id: string, options?: CallOptions) => (await load()).delete(id, options),
    get: async (id: string, options?: CallOptions) => (await load()).get(id, options),
    list: async (tags: Readonly<Record<string, string>>, options?: CallOptions) =>
      (await load()).list(tags, options),
    deleteMany: async (ids: readonly string[], options?: CallOptions) =>
      (await load()).deleteMany(ids, options),
  };
}
