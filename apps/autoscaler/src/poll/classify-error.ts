import { ForgejoApiError, ForgejoNetworkError, ForgejoResponseError } from '@forgejo-fleet/forgejo';
import type { PollError } from '../metrics.js';
import { ScopeIdentityError } from '../scopes/identity.js';

/** Sorts a failed Forgejo call into the kinds metrics and /readyz report. */
export function classifyError(error: unknown): { kind: PollError; status?: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  // A response error is also an API error: test it first.
  if (error instanceof ForgejoResponseError) return { kind: 'invalid_response', message };
  if (error instanceof ForgejoApiError) {
    if (error.status === 401 || error.status === 403) return { kind: 'auth', status: error.status, message };
    return { kind: 'http', status: error.status, message };
  }
  if (error instanceof ForgejoNetworkError) return { kind: 'network', message };
  if (error instanceof ScopeIdentityError) return { kind: 'config', message };
  return { kind: 'other', message };
}
