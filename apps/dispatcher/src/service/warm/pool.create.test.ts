import { ProviderError } from '@forgejo-fleet/providers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { warmWorld } from '../../__fixtures__/warm-world.js';

// The warm pool's create walk follows the same lost-answer rule as a cold create.
let w: Awaited<ReturnType<typeof warmWorld>>;
beforeEach(async () => {
  w = await warmWorld(1);
  // Two choices, so a fallback would have somewhere to go.
  Object.assign(w.cloud.provider, {
    choices: [
      { key: 'a', machine: 'a' },
      { key: 'b', machine: 'b' },
    ],
  });
});
afterEach(async () => {
  w.expireHolds();
  await w.close();
});

const creates = () => w.cloud.calls.filter((c) => c.verb === 'create');

describe('warm pool create walk', () => {
  it('adopts the VM of a create whose answer was lost, found by its pool tag', async () => {
    w.cloud.loseNextAnswer();

    await w.service.refillWarm();
    await w.service.drain();

    expect(creates()).toHaveLength(1);
    const [vm] = await w.store.listWarm();
    expect(vm).toMatchObject({ state: 'booting', instance_id: [...w.cloud.instances.keys()][0] });
  });

  it('stops when the lookup after a lost answer fails too: no second choice, no second VM', async () => {
    w.cloud.loseNextAnswer();
    const list = w.cloud.provider.list;
    Object.assign(w.cloud.provider, {
      async list() {
        throw new ProviderError('cloud', 'transient', 'list: deadline of 60 s exceeded');
      },
    });

    await w.service.refillWarm();
    await w.service.drain();

    expect(creates().map((c) => c.choice)).toEqual(['a']);
    expect(await w.store.listWarm()).toEqual([]);
    const made = [...w.cloud.instances.values()][0];
    const vm = await w.store.getWarm(made?.tags['forgejo-fleet-warm'] ?? '');
    expect(vm?.state).toBe('retired');
    expect(vm?.reason).toBe(
      'create answer lost and the lookup failed (cloud: list: deadline of 60 s exceeded)',
    );
    expect(w.cloud.instances.size).toBe(1); // made by the lost create; the orphan sweep's to delete
    Object.assign(w.cloud.provider, { list });
  });
});
