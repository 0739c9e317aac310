import type { Instance, Provider } from '@forgejo-fleet/providers';
import { describe, expect, it } from 'vitest';
import { InstanceNotes } from './instance-notes.js';
import type { ReconcileContext, World } from './reconcile/context.js';
import { rememberNotes } from './reconcile/notes.js';

const provider = (name: string) => ({ name }) as Provider;
const vm = (id: string, note?: string): Instance => ({
  id,
  name: id,
  state: 'pending',
  tags: {},
  ...(note === undefined ? {} : { note }),
});

function world(instances: Map<Provider, ReadonlyMap<string, Instance>>): World {
  return {
    now: 0,
    live: [],
    failed: [],
    instances,
    foreign: new Map(),
    queues: new Map(),
    touched: new Set(),
  };
}

describe('instance notes', () => {
  it('keeps what the last pass listed, per provider and instance, and forgets what it no longer shows', async () => {
    const notes = new InstanceNotes();
    const ctx = { notes } as unknown as ReconcileContext;
    const a = provider('k8s-a');
    const b = provider('k8s-b');
    await rememberNotes(
      {} as never,
      ctx,
      world(
        new Map([
          [
            a,
            new Map([
              ['p1', vm('p1', 'ImagePullBackOff: Back-off pulling image')],
              ['p2', vm('p2')],
            ]),
          ],
          [b, new Map([['p1', vm('p1', 'Unschedulable: 0/3 nodes are available')]])],
        ]),
      ),
    );
    expect(notes.get('k8s-a', 'p1')).toBe('ImagePullBackOff: Back-off pulling image');
    expect(notes.get('k8s-b', 'p1')).toBe('Unschedulable: 0/3 nodes are available');
    expect(notes.get('k8s-a', 'p2')).toBeUndefined();

    await rememberNotes({} as never, ctx, world(new Map([[a, new Map([['p1', vm('p1')]])]])));
    expect(notes.get('k8s-a', 'p1')).toBeUndefined();
    expect(notes.get('k8s-b', 'p1')).toBeUndefined();
  });

  it('does nothing without a place to keep them', async () => {
    await expect(
      rememberNotes(
        {} as never,
        {} as ReconcileContext,
        world(new Map([[provider('x'), new Map([['i', vm('i', 'n')]])]])),
      ),
    ).resolves.toBeUndefined();
  });
});
