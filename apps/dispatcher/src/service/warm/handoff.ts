import type { WarmVm } from '@forgejo-fleet/store';
import type { ServiceDeps } from '../deps.js';
import { registerDispatchRunner } from '../register-runner.js';
import { releaseResources } from '../release.js';
import { waitsForWarm } from './claims.js';
import type { PollAnswer } from './mailbox.js';

/** `not-yet`: the claim is stored but its dispatch has not moved to `provisioning` yet. */
export type HandoffResult = PollAnswer | 'not-yet';

export interface HandoffHooks {
  /** Deletes the VM and retires its record. */
  retire(vm: WarmVm, reason: string): Promise<void>;
  /** Tops the pool up (the leader's work; a follower's call does nothing). */
  refill(): void;
}

/**
 * Gives a claimed warm VM its job, on whichever replica its agent's poll reached. The VM moves
 * claimed → assigned first, burning its secret: that compare-and-set is the once-only step, so
 * of two polls racing on two replicas exactly one goes on, and a VM gets at most one job, ever.
 * Then the runner is registered here (its token never touches the store, it goes straight into
 * the answer) and the dispatch moves provisioning → booting with that runner and this VM.
 *
 * The leader's resume step takes a stale claim back by retiring the VM before it moves the
 * dispatch, so the VM is read again after the registration: a handoff that finds it retired
 * gives up instead of booting a dispatch that went cold meanwhile.
 */
export async function handOff(deps: ServiceDeps, vm: WarmVm, hooks: HandoffHooks): Promise<HandoffResult> {
  const { store, clock, config } = deps;
  const record = vm.dispatch_id === null ? undefined : await store.get(vm.dispatch_id);
  if (record?.state === 'accepted' || record?.state === 'registering') return 'not-yet';
  const route = config.routes.find((r) => r.name === record?.route);
  if (record === undefined || route === undefined || !waitsForWarm(record)) {
    await hooks.retire(vm, `its dispatch ${vm.dispatch_id ?? '(none)'} no longer waits for it`);
    return { status: 410 };
  }
  const assigned = await store.updateWarm(vm.id, ['claimed'], 'assigned', clock.now(), { burn_secret: true });
  if (assigned === undefined) return { status: 410 }; // another poll (any replica) took it first

  const log = deps.log.child({
    dispatchId: record.id,
    warmId: vm.id,
    route: route.name,
    scope: record.scope,
  });
  const registered = await registerDispatchRunner(deps, route, record, 'provisioning', log);
  if (registered === undefined) {
    // As for a cold dispatch, the dispatch failed (revived while its job waits); this VM's
    // secret is burnt, so it can never serve another job.
    await hooks.retire(assigned, 'the runner registration for its job failed');
    return { status: 410 };
  }
  const { runner } = registered;
  const still = await store.getWarm(vm.id);
  const booting =
    still?.state === 'assigned'
      ? await store.transition(record.id, ['provisioning'], 'booting', clock.now(), {
          runner,
          provider: vm.provider,
          instance_id: vm.instance_id,
          machine: vm.machine,
          hourly_price: vm.hourly_price,
          reason: `warm vm ${vm.id} assigned`,
        })
      : undefined;
  if (booting === undefined) {
    // Cancelled, or taken back by the leader, in between: only this runner is ours to delete.
    const current = (await store.get(record.id)) ?? record;
    await releaseResources(deps, { ...current, runner, provider: null, instance_id: null }, log);
    await hooks.retire(assigned, 'its dispatch ended or went cold before the handoff');
    return { status: 410 };
  }
  const readyFor = vm.ready_at === null ? 0 : clock.now() - vm.ready_at;
  await deps.decisions.record({
    kind: 'assign',
    reason: `warm vm ${vm.id} (${vm.instance_id}) assigned; it was idle for ${Math.round(readyFor / 1000)} s`,
    dispatch_id: record.id,
    route: route.name,
    scope: record.scope,
    provider: vm.provider,
    choice: vm.machine,
    cost: vm.hourly_price,
  });
  log.info({ instanceId: vm.instance_id }, 'warm vm assigned');
  hooks.refill();
  return {
    status: 200,
    assignment: {
      instance_url: config.forgejo.instance_url,
      runner: { uuid: runner.uuid, token: registered.token, name: runner.name },
      handle: record.handle ?? '',
      labels: [...route.runner_labels],
      job_timeout_seconds: Math.round(route.timeouts.job / 1000),
    },
  };
}
