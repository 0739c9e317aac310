import type { Logger } from 'pino';

/** What middleware puts on the context for handlers. */
export type AppEnv = {
  Variables: {
    log: Logger;
    requestId: string;
    /** The authenticated API client (set by `bearerAuth`). */
    client: { name: string; scopes: '*' | readonly string[] };
  };
};
