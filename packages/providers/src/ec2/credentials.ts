import type { EC2ClientConfig } from '@aws-sdk/client-ec2';
import { fromIni, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { Ec2CredentialsConfig } from './config.js';

type Credentials = EC2ClientConfig['credentials'];

const ROLE_SESSION_NAME = 'forgejo-fleet';

/**
 * The SDK credentials for a provider or one scope's override of it. Nothing set: undefined, so
 * the SDK uses its default chain (env, ~/.aws, SSO, instance or container role). Static keys or a
 * profile give the base identity; `role_arn` assumes a role with it (and the external id), so a
 * scope can run in its own account. Providers are lazy: nothing is fetched until the first call.
 */
export function ec2Credentials(config: Ec2CredentialsConfig | undefined, region: string): Credentials {
  if (config === undefined) return undefined;
  let base: Credentials;
  if (config.access_key_id !== undefined && config.secret_access_key !== undefined) {
    base = {
      accessKeyId: config.access_key_id.reveal(),
      secretAccessKey: config.secret_access_key.reveal(),
    };
  } else if (config.profile !== undefined) {
    base = fromIni({ profile: config.profile });
  }
  if (config.role_arn === undefined) return base;
  return fromTemporaryCredentials({
    params: {
      RoleArn: config.role_arn,
      RoleSessionName: ROLE_SESSION_NAME,
      ...(config.external_id === undefined ? {} : { ExternalId: config.external_id.reveal() }),
    },
    ...(base === undefined ? {} : { masterCredentials: base }),
    clientConfig: { region },
  });
}
