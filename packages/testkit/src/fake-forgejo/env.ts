import type { AccountRecord, RepoRecord, TokenRecord } from './state.js';

/** The scope an API request addresses, resolved (and permission-checked) by `scope-middleware.ts`. */
export interface ApiScope {
  kind: 'admin' | 'org' | 'user' | 'repo';
  /** Owner id for org/user scopes, else 0. */
  ownerId: number;
  /** Repo id for the repo scope, else 0. */
  repoId: number;
  repo: RepoRecord | null;
}

/** hono environment of the fake's REST API. */
export interface AppEnv {
  Variables: {
    doer: AccountRecord;
    token: TokenRecord;
    scope: ApiScope;
  };
}
