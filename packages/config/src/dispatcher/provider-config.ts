import { PROVIDER_KINDS, type ProviderKind, providerSchemas } from '@forgejo-fleet/providers/schemas';
import { z } from 'zod';

// Each provider kind owns its schema (packages/providers, one folder per kind); the config
// assembles them from the providers' static list, so a new kind needs no change here.
const [first, ...rest] = providerSchemas;

export const ProviderConfig = z.discriminatedUnion(
  'kind',
  [first.options, ...rest.map((schema) => schema.options)],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `unknown provider kind (known: ${PROVIDER_KINDS.join(', ')})`
        : undefined,
  },
);
export type ProviderConfig = z.infer<typeof ProviderConfig>;

const credentialsByKind = new Map(providerSchemas.map((schema) => [schema.kind, schema.credentials]));

/** What `scopes.<scope>.providers.<name>` may set for a provider of `kind`. */
export function scopeCredentialsSchema(kind: ProviderKind): z.ZodType {
  const schema = credentialsByKind.get(kind);
  // Unreachable while `kind` comes from a parsed ProviderConfig: every kind is in the list.
  if (schema === undefined) throw new Error(`no credentials schema for provider kind ${kind}`);
  return schema;
}

export {
  CALL_VERBS,
  type CallTimeouts,
  type CallVerb,
  CLOUD_CALL_TIMEOUTS,
  Ec2Credentials,
  Ec2Provider,
  HetznerCredentials,
  HetznerProvider,
  PROVIDER_KINDS,
  type ProviderKind,
  ShellCredentials,
  ShellProvider,
} from '@forgejo-fleet/providers/schemas';
