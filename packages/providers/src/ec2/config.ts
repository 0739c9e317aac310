import type { Resolved } from '@forgejo-fleet/runtime/config';
import type { z } from 'zod';
import type { CallTimeouts } from '../config-schema.js';
import type { Ec2Provider, Ec2ResolvedCredentials } from './config-schema.js';

/** A `kind: ec2` provider entry of the loaded dispatcher config (secrets resolved). */
export type Ec2ProviderConfig = Resolved<z.output<typeof Ec2Provider>>;

/** The credentials block of an EC2 provider, or a scope's override of it (secrets resolved). */
export type Ec2CredentialsConfig = z.output<typeof Ec2ResolvedCredentials>;

/** What the provider reads of its config; limits, cooldowns and concurrency are the dispatcher's. */
export type Ec2ProviderOptions = Pick<
  Ec2ProviderConfig,
  | 'region'
  | 'image_id'
  | 'launch_template'
  | 'instance_types'
  | 'subnets'
  | 'security_groups'
  | 'key_name'
  | 'instance_profile'
  | 'root_volume'
  | 'spot'
  | 'imds_hop_limit'
  | 'hourly_prices'
> & {
  readonly endpoint?: string | undefined;
  readonly credentials?: Ec2CredentialsConfig | undefined;
  /** Per-verb deadlines; the SDK's per-request timeout is derived from them. */
  readonly call_timeouts?: CallTimeouts | undefined;
};
