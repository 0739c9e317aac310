import type { RequestEvent } from '@forgejo-fleet/forgejo';

/**
 * A Forgejo request as a metric label: the operation, never the path (it holds owner, repo and
 * runner ids, which would make the label set grow without bound).
 */
export function forgejoOperation(event: Pick<RequestEvent, 'method' | 'path'>): string {
  const { method, path } = event;
  if (path.endsWith('/actions/runners/jobs')) return 'list_jobs';
  if (/\/actions\/runners$/.test(path)) return method === 'POST' ? 'register_runner' : 'list_runners';
  if (/\/actions\/runners\/\d+$/.test(path)) return method === 'DELETE' ? 'delete_runner' : 'get_runner';
  if (/\/hooks(\/\d+)?$/.test(path)) return `${method.toLowerCase()}_hook`;
  return 'other';
}

/** `2xx`, `4xx`, `5xx` or `error` (no answer). */
export function forgejoResult(status: RequestEvent['status']): string {
  return status === 'error' ? 'error' : `${Math.floor(status / 100)}xx`;
}
