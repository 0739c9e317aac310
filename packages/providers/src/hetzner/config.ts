import type { Resolved } from '@forgejo-fleet/runtime/config';
import type { z } from 'zod';
import type { HetznerProvider, HetznerResolvedCredentials } from './config-schema.js';

/** A `kind: hetzner` provider entry of the loaded dispatcher config (secrets resolved). */
export type HetznerProviderConfig = Resolved<z.output<typeof HetznerProvider>>;

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
export type HetznerCredentialsConfig = z.output<typeof HetznerResolvedCredentials>;
