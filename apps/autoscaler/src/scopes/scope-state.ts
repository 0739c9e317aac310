import type { ForgejoClient, Scope } from '@forgejo-fleet/forgejo';
import type { PollError } from '../metrics.js';
import type { ScopeIdentity } from './identity.js';

export type ScopeHealth =
  | { readonly status: 'starting' }
  | { readonly status: 'ok'; readonly at: number }
  /** Forgejo answered 401/403: the token is wrong, expired or lacks a scope. */
  | { readonly status: 'auth_rejected'; readonly httpStatus: number; readonly message: string }
  | { readonly status: 'failing'; readonly kind: PollError; readonly message: string };

/** One configured scope at run time: its client (with its own token), ids and health. */
export interface ScopeState {
  readonly key: string;
  readonly scope: Scope;
  readonly client: ForgejoClient;
  readonly manageHook: boolean;
  identity: ScopeIdentity | undefined;
  health: ScopeHealth;
}

export function describeHealth(health: ScopeHealth): string {
  switch (health.status) {
    case 'starting':
      return 'starting';
    case 'ok':
      return 'ok';
    case 'auth_rejected':
      return `token rejected (${health.httpStatus}): ${health.message}`;
    case 'failing':
      return `failing (${health.kind}): ${health.message}`;
  }
}
