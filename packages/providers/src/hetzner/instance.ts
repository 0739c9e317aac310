import type { Instance, InstanceState } from '../provider.js';
import { labelsToTags, REBUILD_AT_LABEL, rebuildMark } from './labels.js';
import type { HcloudServer } from './schema.js';

/**
 * Creation passes through `off` (between the create and start actions); only an `off` server
 * older than this has powered itself off after its job, and is reported `stopped` (so deleted).
 */
export const OFF_DURING_CREATE_MS = 120_000;

/**
 * A server claimed for a rebuild is `pending` until the rebuild is marked done: before the action
 * it still runs (or is off from) its previous life, Hetzner powers it off first, then it boots.
 * Bounded, so a rebuild whose caller died does not stay pending for ever: after this the server's
 * own status counts again (and an `off` one is deleted).
 */
export const REBUILD_PENDING_MS = 15 * 60_000;

function rebuilding(server: HcloudServer, now: number): boolean {
  if (rebuildMark(server.labels)?.phase !== 'claimed') return false;
  const at = Number(server.labels[REBUILD_AT_LABEL]);
  return Number.isFinite(at) && now - at * 1_000 < REBUILD_PENDING_MS;
}

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
  if (state !== 'terminated' && rebuilding(server, now)) state = 'pending';
  return {
    id: String(server.id),
    name: server.name,
    state,
    tags: labelsToTags(server.labels),
    ...(Number.isFinite(created) ? { createdAt: created } : {}),
    ...(server.server_type ? { machine: server.server_type.name } : {}),
  };
}
