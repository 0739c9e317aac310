import type { DispatchJob, NewDispatch } from '../types.js';

export const T0 = Date.UTC(2025, 0, 1);

export function job(handle: string, overrides: Partial<DispatchJob> = {}): DispatchJob {
  return { handle, id: 42, attempt: 1, repo_id: 7, owner_id: 3, name: 'build', ...overrides };
}

/** A valid dispatch with a handle derived from the id; override any field. */
export function newDispatch(id: string, overrides: Partial<NewDispatch> = {}): NewDispatch {
  const handle = overrides.handle === undefined ? `h-${id}` : overrides.handle;
  return {
    id,
    handle,
    scope: 'org:acme',
    labels: ['linux', 'small'],
    route: 'default',
    client: 'autoscaler',
    job: handle === null ? null : job(handle),
    at: T0,
    ...overrides,
  };
}
