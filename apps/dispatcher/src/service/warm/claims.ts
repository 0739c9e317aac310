import type { DispatchRecord, WarmVm } from '@forgejo-fleet/store';

/**
 * A claimed warm VM's agent polls continuously, and a held poll looks at the store every
 * WARM_RECHECK_MS, so a live agent takes its job within a second or two of the claim on any
 * replica. A claim (or a handoff that took the VM but never moved the dispatch on) older than
 * this grace belongs to a dead agent or a dead replica: the leader takes it back.
 */
export const WARM_CLAIM_GRACE_MS = 30_000;

/** How often a held agent poll looks at the store for a claim made on another replica. */
export const WARM_RECHECK_MS = 1_000;

/** The reason of the transition that takes a stale warm claim back: the next try goes cold. */
export const WARM_TAKEN_BACK = 'its warm vm never took the job; going cold';

/**
 * A dispatch waiting for the agent of the warm VM it claimed: `provisioning` without a runner
 * (a cold create or a rebuild always records its runner on the way in).
 */
export function waitsForWarm(record: Pick<DispatchRecord, 'state' | 'runner'>): boolean {
  return record.state === 'provisioning' && record.runner === null;
}

/** The last try of this dispatch gave its warm claim up: this one creates a VM. */
export function wentCold(record: Pick<DispatchRecord, 'transitions'>): boolean {
  return record.transitions.at(-1)?.reason === WARM_TAKEN_BACK;
}

/** When the claim (or the handoff, once it took the VM) last moved. */
export function claimMovedAt(vm: WarmVm): number {
  return vm.state === 'claimed' ? (vm.claimed_at ?? vm.updated_at) : vm.updated_at;
}

/** The dispatch records this pool VM as its own VM. */
export function recordsVm(record: Pick<DispatchRecord, 'provider' | 'instance_id'>, vm: WarmVm): boolean {
  return vm.instance_id !== null && record.instance_id === vm.instance_id && record.provider === vm.provider;
}
