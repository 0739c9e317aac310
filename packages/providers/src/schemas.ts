/**
 * `@forgejo-fleet/providers/schemas`: every provider kind's config schema, for the config package
 * (it builds `providers.<name>` and the scope overrides from this list). Imports only the schema
 * files, which load zod and the runtime kit's config primitives: no SDK, HTTP client or execa
 * (a dependency rule in .dependency-cruiser.cjs keeps it so).
 *
 * A new kind: its folder's `config-schema.ts` exports `{ kind, options, credentials }`, one line
 * here, and the compiler then asks for its line in ./registry.ts.
 */
import type { Resolved } from '@forgejo-fleet/runtime/config';
import type { z } from 'zod';
import type { ProviderSchema } from './config-schema.js';
import { ec2Schema } from './ec2/config-schema.js';
import { hetznerSchema } from './hetzner/config-schema.js';
import { kubernetesSchema } from './kubernetes/config-schema.js';
import { shellSchema } from './shell/config-schema.js';

export const providerSchemas = [
  ec2Schema,
  hetznerSchema,
  kubernetesSchema,
  shellSchema,
] as const satisfies readonly ProviderSchema[];

export type ProviderKind = (typeof providerSchemas)[number]['kind'];
/** The kinds in the order of the list, for messages ("known: ec2, hetzner, kubernetes, shell"). */
export const PROVIDER_KINDS: ProviderKind[] = providerSchemas.map((schema) => schema.kind);

type SchemaOf<K extends ProviderKind> = Extract<(typeof providerSchemas)[number], { kind: K }>;

/** One `providers.<name>` entry of kind `K` as the dispatcher loaded it (secrets read). */
export type ProviderConfigOf<K extends ProviderKind> = Resolved<z.output<SchemaOf<K>['options']>>;
/** One `providers.<name>` entry of any kind, as the dispatcher loaded it. */
export type AnyProviderConfig = ProviderConfigOf<ProviderKind>;

export {
  CALL_VERBS,
  type CallTimeouts,
  type CallVerb,
  CLOUD_CALL_TIMEOUTS,
  type ProviderSchema,
} from './config-schema.js';
export { Ec2Credentials, Ec2Provider } from './ec2/config-schema.js';
export { HetznerCredentials, HetznerProvider } from './hetzner/config-schema.js';
export { KubernetesCredentials, KubernetesProvider } from './kubernetes/config-schema.js';
export { ShellCredentials, ShellProvider } from './shell/config-schema.js';
