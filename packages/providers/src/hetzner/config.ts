import type { DispatcherConfig, Secret } from '@forgejo-fleet/config';

/** A `kind: hetzner` provider entry of the loaded dispatcher config (secrets resolved). */
export type HetznerProviderConfig = Extract<DispatcherConfig['providers'][string], { kind: 'hetzner' }>;

/** What the provider reads of its config; limits, cooldowns and concurrency are the dispatcher's. */
export type HetznerProviderOptions = Pick<
  HetznerProviderConfig,
  | 'endpoint'
  | 'token'
  | 'server_types'
  | 'locations'
  | 'image'
  | 'ssh_keys'
  | 'firewalls'
  | 'networks'
  | 'public_net'
  | 'hourly_prices'
>;

/** A scope's override: its own project token. */
export interface HetznerCredentialsConfig {
  readonly token: Secret;
}
