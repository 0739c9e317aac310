/**
 * Found by the chaos suite: a dispatch that ends `failed` keeps its job's handle, so a job that is
 * still waiting never gets a VM, even once capacity (or Forgejo) is back. The autoscaler resends
 * the job and the dispatcher answers 200 with the failed dispatch; the reconciler never looks at it
 * again. The invariant is "every job that stays waiting gets a VM once capacity returns".
 * Fixed: the reconciler's revive step gives a failed dispatch whose job still waits another try
 * (failed → registering, backoff 30 s doubling to 10 min, within the route's limits and budgets).
 */

import { lifecycleWorld, MINUTE } from '@forgejo-fleet/dispatcher/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld();
});
afterEach(async () => {
  await w.close();
});

async function passes(service: ReturnType<typeof w.start>['service'], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    w.advance(MINUTE);
    await service.reconcile();
    await service.drain();
  }
}

describe('a job whose dispatch failed while it still waits', () => {
  it('gets a VM once provider capacity returns', async () => {
    const { service, store } = w.start();
    const job = w.job();
    w.cloud.failChoice('default', 'capacity');
    const { record } = await service.dispatch(w.request(job), CALLER);
    await service.drain();
    expect((await store.get(record.id))?.state).toBe('failed');

    // Capacity is back; the autoscaler sends the still-waiting job again, and passes run.
    w.cloud.clearChoice('default');
    w.advance(10 * MINUTE);
    await service.dispatch(w.request(job), CALLER);
    await passes(service, 5);

    expect(w.forgejo.jobs().find((j) => j.handle === job.handle)?.status).toBe('waiting');
    expect(w.vms()).toHaveLength(1);
  });

  it('gets a VM once Forgejo accepts runner registrations again', async () => {
    const { service, store } = w.start();
    const job = w.job();
    w.forgejo.injectFault({ method: 'POST', path: /\/actions\/runners$/, status: 503, times: 1 });
    const { record } = await service.dispatch(w.request(job), CALLER);
    await service.drain();
    expect((await store.get(record.id))?.state).toBe('failed');

    w.advance(10 * MINUTE);
    await service.dispatch(w.request(job), CALLER);
    await passes(service, 5);

    expect(w.vms()).toHaveLength(1);
  });
});
