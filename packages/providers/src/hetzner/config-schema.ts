import { Duration, HttpUrl, ResolvedSecret, withSecret } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { CloudCallTimeouts, HourlyPrices, type ProviderSchema } from '../config-schema.js';

/** An image by name (`ubuntu-24.04`), by id, or the newest snapshot matching a label selector. */
export const HetznerImage = z.union([
  z.string().min(1),
  z.strictObject({ id: z.number().int().positive() }),
  z.strictObject({ label_selector: z.string().min(1) }),
]);

export const HetznerCredentials = withSecret({}, 'token', true);

export const HetznerProvider = withSecret(
  {
    kind: z.literal('hetzner'),
    endpoint: HttpUrl('a Hetzner Cloud API endpoint').default('https://api.hetzner.cloud/v1'),
    server_types: z.array(z.string().regex(/^[a-z0-9-]+$/, 'expected a server type such as cpx22')).min(1),
    locations: z.array(z.string().regex(/^[a-z0-9-]+$/, 'expected a location such as fsn1')).min(1),
    image: HetznerImage,
    ssh_keys: z.array(z.union([z.string().min(1), z.number().int().positive()])).default([]),
    firewalls: z.array(z.number().int().positive()).default([]),
    networks: z.array(z.number().int().positive()).default([]),
    public_net: z
      .strictObject({ ipv4: z.boolean().default(true), ipv6: z.boolean().default(true) })
      .prefault({}),
    max_instances: z.number().int().min(1).default(20),
    create_concurrency: z.number().int().min(1).max(100).default(5),
    cooldown: Duration({ min: 0 }).prefault('5m'),
    hourly_prices: HourlyPrices.optional(),
    call_timeouts: CloudCallTimeouts,
  },
  'token',
  true,
);
export type HetznerProvider = z.infer<typeof HetznerProvider>;

/** The `hetzner` kind's part of the dispatcher config (listed in ../schemas.ts). */
export const hetznerSchema = {
  kind: 'hetzner',
  options: HetznerProvider,
  credentials: HetznerCredentials,
} as const satisfies ProviderSchema<'hetzner'>;

/** A scope's own project token, read by the config loader, as the registry receives it. */
export const HetznerResolvedCredentials = z.strictObject({ token: ResolvedSecret });
