// The zod building blocks of config files, shared by packages/config and the providers' own
// schemas (@forgejo-fleet/providers/schemas). Only node and zod: a schema file that imports this
// loads no SDK, no HTTP client and no logger.
export { Duration, formatDuration, parseDuration } from './duration.js';
export { HttpUrl } from './http-url.js';
export {
  type Resolved,
  ResolvedSecret,
  Secret,
  SecretRef,
  secretFields,
  type WithSecret,
  withSecret,
} from './secret.js';
