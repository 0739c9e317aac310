import { z } from 'zod';
import { Ec2Credentials, Ec2Provider } from './ec2.js';
import { HetznerCredentials, HetznerProvider } from './hetzner.js';
import { ShellCredentials, ShellProvider } from './shell.js';

/** One entry per provider kind: its options and the credential overrides a scope may set. */
export const providerKinds = {
  ec2: { options: Ec2Provider, credentials: Ec2Credentials },
  hetzner: { options: HetznerProvider, credentials: HetznerCredentials },
  shell: { options: ShellProvider, credentials: ShellCredentials },
} as const;

export type ProviderKind = keyof typeof providerKinds;
export const PROVIDER_KINDS = Object.keys(providerKinds) as ProviderKind[];

export const ProviderConfig = z.discriminatedUnion('kind', [Ec2Provider, HetznerProvider, ShellProvider], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown provider kind (known: ${PROVIDER_KINDS.join(', ')})`
      : undefined,
});
export type ProviderConfig = z.infer<typeof ProviderConfig>;

export {
  CALL_VERBS,
  type CallTimeouts,
  type CallVerb,
  CLOUD_CALL_TIMEOUTS,
} from './call-timeouts.js';
export { Ec2Credentials, Ec2Provider, HetznerCredentials, HetznerProvider, ShellCredentials, ShellProvider };
