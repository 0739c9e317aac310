import type { Instance, InstanceState } from '../provider.js';
import type { Flavor } from './config-schema.js';
import { QUOTA_MESSAGE } from './errors.js';
import { metadataToTags, NAME_ANNOTATION } from './labels.js';
import type { KubeObject } from './schema.js';

/** notes/kubernetes.md §4: a pod ends Succeeded/Failed and stays until deleted. */
const POD_STATES: Readonly<Record<string, InstanceState>> = {
  Pending: 'pending',
  Running: 'running',
  Succeeded: 'stopped',
  Failed: 'stopped',
  Unknown: 'unknown',
};

/** notes/kubernetes.md §5: a guest power-off ends Succeeded; a bare VMI is never restarted. */
const VMI_STATES: Readonly<Record<string, InstanceState>> = {
  '': 'pending',
  Pending: 'pending',
  Scheduling: 'pending',
  Scheduled: 'pending',
  WaitingForSync: 'pending',
  Running: 'running',
  Succeeded: 'stopped',
  Failed: 'stopped',
  Unknown: 'unknown',
};

/**
 * A VMI refused by a ResourceQuota: the POST succeeded, but virt-controller cannot create its
 * launcher pod and says so in `Synchronized=False` / `FailedCreate` (kubevirt lifecycle.go). It
 * will never run, so it reads as `stopped`: the reconciler deletes it and ends the dispatch, and
 * the job, still queued, is dispatched again.
 */
export function quotaBlocked(object: KubeObject): boolean {
  return (object.status?.conditions ?? []).some(
    (c) =>
      c.type === 'Synchronized' &&
      c.status === 'False' &&
      c.reason === 'FailedCreate' &&
      (c.message ?? '').includes(QUOTA_MESSAGE),
  );
}

/**
 * notes/kubernetes.md §4/§5, except a deletion timestamp: the notes read it as `stopping`, but an
 * object being deleted is as good as gone for the fleet (like Hetzner's `deleting`). The contract
 * wants a deleted instance gone from get and list at once, while the API keeps it through its grace
 * period and finalizers, and a pod on a lost node stays Terminating until the node object goes.
 */
export function stateOf(object: KubeObject, flavor: Flavor): InstanceState {
  if (object.metadata.deletionTimestamp) return 'terminated';
  const phase = object.status?.phase ?? '';
  if (flavor === 'pod') return POD_STATES[phase === '' ? 'Pending' : phase] ?? 'unknown';
  if (quotaBlocked(object)) return 'stopped';
  return VMI_STATES[phase] ?? 'unknown';
}

/** The normal waits of a starting container: nothing an operator needs to hear about. */
const ROUTINE_WAITS = new Set(['ContainerCreating', 'PodInitializing']);
const NOTE_MAX = 200;

/**
 * Why a pending pod is not running, for `why`: a container's waiting reason (`ImagePullBackOff`,
 * `ErrImagePull`, `CreateContainerConfigError`) or the scheduler's (`Unschedulable`), with its message.
 */
export function pendingNote(object: KubeObject): string | undefined {
  const status = object.status;
  if (status === null || status === undefined || (status.phase ?? 'Pending') !== 'Pending') return undefined;
  const waiting = status.containerStatuses
    .map((c) => c.state?.waiting)
    .find((w) => w?.reason && !ROUTINE_WAITS.has(w.reason));
  const unscheduled = status.conditions.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason,
  );
  const found = waiting ?? unscheduled;
  if (!found?.reason) return undefined;
  const note = found.message ? `${found.reason}: ${found.message}` : found.reason;
  return note.length > NOTE_MAX ? `${note.slice(0, NOTE_MAX - 1)}…` : note;
}

export function toInstance(object: KubeObject, flavor: Flavor, machine: string): Instance {
  const { metadata } = object;
  const created =
    metadata.creationTimestamp === undefined ? Number.NaN : Date.parse(metadata.creationTimestamp);
  const note = flavor === 'pod' && !metadata.deletionTimestamp ? pendingNote(object) : undefined;
  return {
    id: metadata.name,
    name: metadata.annotations[NAME_ANNOTATION] ?? metadata.name,
    state: stateOf(object, flavor),
    tags: metadataToTags(metadata.labels, metadata.annotations),
    ...(Number.isFinite(created) ? { createdAt: created } : {}),
    machine,
    ...(note === undefined ? {} : { note }),
  };
}
