import type { Store } from '@forgejo-fleet/store';

/** How stale the store snapshot behind the per-provider counts may be. */
export const COUNT_SNAPSHOT_MS = 1_000;

/**
 * VMs per provider, for `max_instances`: a store snapshot (live dispatches with a VM, and pool VMs
 * not yet claimed) at most a second old, plus the creates this process finished since and those
 * running now, so a burst cannot run past the cap between snapshots.
 */
export class ProviderCounts {
  #snapshot: { at: number; counts: Map<string, number> } | undefined;
  readonly #since = new Map<string, number>();
  readonly #running = new Map<string, number>();

  constructor(private readonly deps: { store: Pick<Store, 'listLive' | 'listWarm'>; now: () => number }) {}

  async count(provider: string): Promise<number> {
    const now = this.deps.now();
    if (this.#snapshot === undefined || now - this.#snapshot.at >= COUNT_SNAPSHOT_MS) {
      const counts = new Map<string, number>();
      for (const record of await this.deps.store.listLive()) {
        if (record.provider !== null && record.instance_id !== null) {
          counts.set(record.provider, (counts.get(record.provider) ?? 0) + 1);
        }
      }
      for (const vm of await this.deps.store.listWarm()) {
        if (vm.instance_id !== null && (vm.state === 'booting' || vm.state === 'idle')) {
          counts.set(vm.provider, (counts.get(vm.provider) ?? 0) + 1);
        }
      }
      this.#snapshot = { at: now, counts };
      this.#since.clear();
    }
    return (
      (this.#snapshot.counts.get(provider) ?? 0) +
      (this.#since.get(provider) ?? 0) +
      (this.#running.get(provider) ?? 0)
    );
  }

  /** Wraps one create: counted while it runs, and as made when it succeeds. */
  async creating<T>(provider: string, create: () => Promise<T>): Promise<T> {
    this.#running.set(provider, (this.#running.get(provider) ?? 0) + 1);
    try {
      const result = await create();
      this.#since.set(provider, (this.#since.get(provider) ?? 0) + 1);
      return result;
    } finally {
      this.#running.set(provider, (this.#running.get(provider) ?? 1) - 1);
    }
  }
}
