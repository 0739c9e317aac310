import type { Provider } from '@forgejo-fleet/providers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lifecycleWorld } from '../../__fixtures__/lifecycle-world.js';

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld();
});
afterEach(async () => {
  await w.close();
});

/** A provider whose list waits until its caller gives up, as a slow cloud does at shutdown. */
function listHangsUntilAborted(provider: Provider, started: () => void): Provider {
  return {
    ...provider,
    list: (_tags, options) =>
      new Promise((_resolve, reject) => {
        started();
        const signal = options?.signal;
        if (signal === undefined) return;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  };
}

describe('a reconcile pass cut short', () => {
  it('ends at the aborted instance list instead of reading job queues and running its steps', async () => {
    let lists = 0;
    const { service } = w.start({ provider: (p) => listHangsUntilAborted(p, () => lists++) });
    const { record } = await service.dispatch(w.request(w.job()), {
      name: 'autoscaler',
      scopes: '*',
    });
    await service.drain();
    const queueReads = w.forgejo.calls().length;
    const stop = new AbortController();

    const pass = service.reconcile(stop.signal);
    await expect.poll(() => lists).toBe(1);
    stop.abort(new Error('shutting down'));

    await expect(pass).rejects.toThrow('shutting down');
    expect(w.forgejo.calls().slice(queueReads)).toEqual([]);
    expect(await service.get(record.id)).toMatchObject({ state: 'booting' });
  });
});
