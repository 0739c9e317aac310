/** A VM or runner registration with our fleet id that another store's dispatcher made. */
export interface ForeignThing {
  /** The provider name (a VM) or the scope key (a registration). */
  readonly where: string;
  /** The instance id or the runner id. */
  readonly id: string;
  readonly storeId: string;
}

/**
 * What the reconciler last saw of other stores sharing our fleet id: read by `why` and the
 * metrics, and the memory of what was already logged, so each thing is logged once per window
 * rather than on every pass.
 */
export class ForeignSightings {
  readonly #vms = new Map<string, readonly ForeignThing[]>();
  readonly #registrations = new Map<string, readonly ForeignThing[]>();
  readonly #logged = new Map<string, number>();

  /** Replaces what one provider (by name) showed in this pass. */
  setVms(provider: string, vms: readonly ForeignThing[]): void {
    this.#vms.set(provider, vms);
  }

  /** Replaces what one scope's runner list showed in this sweep. */
  setRegistrations(scope: string, registrations: readonly ForeignThing[]): void {
    this.#registrations.set(scope, registrations);
  }

  /** True the first time `key` is seen in a window of `windowMs`; forgets keys gone quiet. */
  shouldLog(key: string, now: number, windowMs: number): boolean {
    for (const [seen, at] of this.#logged) if (now - at >= windowMs) this.#logged.delete(seen);
    if (this.#logged.has(key)) return false;
    this.#logged.set(key, now);
    return true;
  }

  summary(): { vms: number; registrations: number; storeIds: readonly string[] } {
    const vms = [...this.#vms.values()].flat();
    const registrations = [...this.#registrations.values()].flat();
    const storeIds = new Set([...vms, ...registrations].map((thing) => thing.storeId));
    return { vms: vms.length, registrations: registrations.length, storeIds: [...storeIds].sort() };
  }
}
