/**
 * Found by the chaos suite (a leak): the dispatcher dies after the create reached the cloud but
 * before it stored the VM, so the dispatch stays `provisioning` with no instance id. The VM boots,
 * its runner runs the job, Forgejo deletes the ephemeral runner, and the VM powers off, all before
 * the restarted dispatcher's resume step looks. From then on every pass, the cancelled-before-pickup
 * step sees "job left the queue, registration gone" (= our runner took it), marks the dispatch as
 * handled and leaves it to the finish step, which only looks at `booting` and `running` dispatches;
 * the resume step skips it as already handled; the orphan sweep keeps the VM for the resume step.
 * So the dispatch stays `provisioning` forever (holding a slot of the route's limit) and the
 * stopped VM is never deleted. Fixed: cancelled-before-pickup now settles only `booting` dispatches;
 * the resume step ends a stuck dispatch whose job left the queue (`finished` when our runner ran it),
 * and the orphan sweep then deletes the VM tagged with the ended dispatch.
 */

import { lifecycleWorld, never, RECONCILE } from '@forgejo-fleet/dispatcher/testing';
import { runFakeRunner } from '@forgejo-fleet/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootPlan } from '../autoscaler-vms.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };

let w: Awaited<ReturnType<typeof lifecycleWorld>>;
beforeEach(async () => {
  w = await lifecycleWorld();
});
afterEach(async () => {
  await w.close();
});

async function pass(service: ReturnType<typeof w.start>['service']): Promise<void> {
  await service.reconcile();
  await service.drain();
}

/** Lets the first process run until it hangs (its calls are real I/O to the fake Forgejo). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('a VM made just before a crash, whose job ran before the restart looked', () => {
  it('is deleted and its dispatch ends', async () => {
    // The first process dies right after the create reached the cloud.
    const first = w.start({
      provider: (p) => ({
        ...p,
        async create(spec) {
          await p.create(spec);
          return never();
        },
      }),
    });
    const job = w.job();
    const { record } = await first.service.dispatch(w.request(job), CALLER);
    await settle();
    expect((await first.store.get(record.id))?.state).toBe('provisioning');

    // The VM boots and its runner runs the job (one-job), then the VM powers off.
    const vm = w.vms(record.id)[0];
    if (vm === undefined) throw new Error('no vm was created');
    const plan = bootPlan(vm.userData);
    const argv = plan.argv.map((arg, i) => (plan.argv[i - 1] === '--url' ? w.forgejo.url : arg));
    expect(
      await runFakeRunner(argv, { readFile: async () => plan.token, env: { FAKE_RUNNER_JOB_MS: '0' } }),
    ).toBe(0);
    expect(w.forgejo.jobs().find((j) => j.handle === job.handle)?.status).toBe('success');
    w.cloud.powerOff(vm.id);

    // A new process on the same store; plenty of passes and time for every rule to act.
    const second = w.start();
    for (let i = 0; i < 5; i++) {
      w.advance(RECONCILE.resumeAfterMs + RECONCILE.registrationSweepMs + w.config.reconcile.orphan_grace);
      await pass(second.service);
    }

    expect((await second.store.get(record.id))?.state).toBe('finished');
    expect(w.vms()).toEqual([]);
  });
});
