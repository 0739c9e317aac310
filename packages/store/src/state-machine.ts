import { DISPATCH_STATES, type DispatchState, LIVE_STATES } from './types.js';

/**
 * The dispatch lifecycle, for callers building the `from` list of a `transition`. The store itself
 * enforces only compare-and-set: this map is the documented contract, not a database constraint,
 * so that an operator tool can still repair a record by naming its current state explicitly.
 *
 *   accepted → registering → provisioning → booting → running → finished
 *   booting → finished           the VM was gone before we ever saw it run (one-job done or off)
 *   provisioning → registering   resumed after a crash: the runner token is gone, register again
 *   booting → registering        pickup timeout: the VM is killed, the job gets a fresh one
 *   registering, provisioning → finished   the job ran on a VM never recorded (crash after create)
 *   failed → registering         revived: the job still waits, so it gets another try
 *   any live state → failed | cancelled
 *   finished, cancelled          terminal: nothing leaves them
 *
 * No state lists itself: a provider retry inside `provisioning` is not a transition, and a
 * self-loop would make the CAS succeed twice for the same step.
 */
export const ALLOWED_TRANSITIONS = {
  accepted: ['registering', 'failed', 'cancelled'],
  registering: ['provisioning', 'finished', 'failed', 'cancelled'],
  provisioning: ['registering', 'booting', 'finished', 'failed', 'cancelled'],
  booting: ['registering', 'running', 'finished', 'failed', 'cancelled'],
  running: ['finished', 'failed', 'cancelled'],
  finished: [],
  failed: ['registering'],
  cancelled: [],
} as const satisfies Record<DispatchState, readonly DispatchState[]>;

/** Ended: no VM or registration is held. Only `failed` has a way out (revived while its job waits). */
export const TERMINAL_STATES: readonly DispatchState[] = ['finished', 'failed', 'cancelled'];

export function isAllowedTransition(from: DispatchState, to: DispatchState): boolean {
  const targets: readonly DispatchState[] = ALLOWED_TRANSITIONS[from];
  return targets.includes(to);
}

/** The states `to` may be reached from: the natural `from` argument of `Store.transition`. */
export function allowedSources(to: DispatchState): DispatchState[] {
  return DISPATCH_STATES.filter((from) => isAllowedTransition(from, to));
}

export function isDispatchState(value: unknown): value is DispatchState {
  return typeof value === 'string' && (DISPATCH_STATES as readonly string[]).includes(value);
}

export function isLiveState(state: DispatchState): boolean {
  return LIVE_STATES.includes(state);
}

export function isTerminalState(state: DispatchState): boolean {
  return TERMINAL_STATES.includes(state);
}
