import { describe, expect, it } from 'vitest';
import { toInstance } from './instance.js';
import { KubeObject } from './schema.js';

function pod(status: unknown, metadata: Record<string, unknown> = {}) {
  return KubeObject.parse({ metadata: { name: 'ff-1', ...metadata }, status });
}
const waiting = (reason: string, message?: string) => ({
  containerStatuses: [{ name: 'runner', state: { waiting: { reason, ...(message ? { message } : {}) } } }],
});
const PULL = 'Back-off pulling image "registry.example.org/runner:12"';

describe('toInstance: why a pending pod is not running (the note `why` shows)', () => {
  it.each([
    ['a pull that backs off', waiting('ImagePullBackOff', PULL), `ImagePullBackOff: ${PULL}`],
    ['a failed pull', waiting('ErrImagePull'), 'ErrImagePull'],
    [
      'a missing Secret',
      waiting('CreateContainerConfigError', 'secret "x-boot" not found'),
      'CreateContainerConfigError: secret "x-boot" not found',
    ],
    [
      'no node fits',
      {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient cpu.',
          },
        ],
      },
      'Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.',
    ],
    [
      'a long message, cut to 200',
      waiting('ErrImagePull', 'x'.repeat(300)),
      `ErrImagePull: ${'x'.repeat(185)}…`,
    ],
  ])('%s', (_, status, note) => {
    expect(toInstance(pod({ phase: 'Pending', ...status }), 'pod', 'pod')).toMatchObject({
      state: 'pending',
      note,
    });
  });

  it.each([
    ['a container being created', { phase: 'Pending', ...waiting('ContainerCreating') }, {}],
    ['a pod without status yet', null, {}],
    ['a running pod', { phase: 'Running', ...waiting('ImagePullBackOff') }, {}],
    [
      'a pod being deleted',
      { phase: 'Pending', ...waiting('ErrImagePull') },
      { deletionTimestamp: '2026-12-07T20:00:00Z' },
    ],
  ])('no note for %s', (_, status, metadata) => {
    expect(toInstance(pod(status, metadata), 'pod', 'pod')).not.toHaveProperty('note');
  });
});
