import type { DispatchRecord, DispatchState } from '@forgejo-fleet/store';

/**
 * What the service reports as it works, for metrics. Methods never throw and never block; labels
 * are route, provider, state and outcome names only, never an id or handle.
 */
export interface ServiceObserver {
  /** A dispatch moved from `from` to `record.state`, `ms` after it entered `from`. */
  transition(record: DispatchRecord, from: DispatchState, ms: number): void;
  providerCall(provider: string, operation: string, result: string, ms: number): void;
  refused(route: string, reason: string): void;
  error(errorClass: string): void;
  reconciled(ms: number): void;
  /** VMs of another store with our fleet id that one provider listed in the last pass. */
  foreignVms(provider: string, count: number): void;
}

export const NO_OBSERVER: ServiceObserver = {
  transition() {},
  providerCall() {},
  refused() {},
  error() {},
  reconciled() {},
  foreignVms() {},
};
