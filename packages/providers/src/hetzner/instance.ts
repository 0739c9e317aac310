import type { Instance, InstanceState } from '../provider.js';
import { labelsToTags } from './labels.js';
import type { HcloudServer } from './schema.js';

/**
 * Creation passes through `off` (between the create and start actions); only an `off` server
 * older than this has powered itself off after its job, and is reported `stopped` (so deleted).
 */
export const OFF_DURING_CREATE_MS = 120_000;

const STATES: Readonly<Record<string, InstanceState>> = {
  initializing: 'pending',
  starting: 'pending',
  running: 'running',
  stopping: 'stopping',
  off: 'stopped',
  // Being removed: as good as gone, and nothing to do for the reconciler.
  deleting: 'terminated',
  migrating: 'running',
  rebuilding: 'pending',
};

export function toInstance(server: HcloudServer, now: number): Instance {
  const created = server.created === undefined ? Number.NaN : Date.parse(server.created);
  let state = STATES[server.status] ?? 'unknown';
  if (state === 'stopped' && Number.isFinite(created) && now - created < OFF_DURING_CREATE_MS)
    state = 'pending';
  return {
    id: String(server.id),
    name: server.name,
    state,
    tags: labelsToTags(server.labels),
    ...(Number.isFinite(created) ? { createdAt: created } : {}),
    ...(server.server_type ? { machine: server.server_type.name } : {}),
  };
}
