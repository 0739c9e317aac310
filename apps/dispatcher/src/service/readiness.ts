import { ForgejoApiError, ForgejoNetworkError } from '@forgejo-fleet/forgejo';

/**
 * One fixed word for a failed Forgejo readiness call. Forgejo's (or a proxy's) error text may
 * name internal hosts or echo request details, and `/readyz` may be served without auth, so the
 * answer says only what kind of failure it was; the log line carries the detail.
 */
export function readinessWord(error: unknown): 'unauthorized' | 'unavailable' | 'unreachable' | 'error' {
  if (error instanceof ForgejoApiError) {
    if (error.status === 401 || error.status === 403) return 'unauthorized';
    return 'unavailable';
  }
  if (error instanceof ForgejoNetworkError) return 'unreachable';
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return 'unreachable';
  return 'error';
}
