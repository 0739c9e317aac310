import type { Instance, InstanceState } from '../provider.js';
import type { Ec2Instance } from './schema.js';

const STATES: Readonly<Record<string, InstanceState>> = {
  pending: 'pending',
  running: 'running',
  'shutting-down': 'stopping',
  stopping: 'stopping',
  stopped: 'stopped',
  terminated: 'terminated',
};

/** States in which an instance still exists (and costs, or will): what `list` returns. */
export const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export function toInstance(raw: Ec2Instance, fallbackTags: Readonly<Record<string, string>> = {}): Instance {
  const tags: Record<string, string> = {};
  for (const tag of raw.Tags) tags[tag.Key] = tag.Value;
  // RunInstances' answer may come without the tags it was given; they are set with the launch.
  const merged = raw.Tags.length === 0 ? { ...fallbackTags } : tags;
  return {
    id: raw.InstanceId,
    name: merged.Name ?? raw.InstanceId,
    state: STATES[raw.State?.Name ?? ''] ?? 'unknown',
    tags: merged,
    ...(raw.LaunchTime === undefined ? {} : { createdAt: raw.LaunchTime.getTime() }),
    ...(raw.InstanceType === undefined ? {} : { machine: raw.InstanceType }),
  };
}
