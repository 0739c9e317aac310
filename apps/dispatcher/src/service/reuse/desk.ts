import type { Parked } from './parked.js';

function serverKey(p: Pick<Parked, 'provider' | 'instanceId'>): string {
  return `${p.provider}\u0000${p.instanceId}`;
}

/** One life of a server: the same server parked again by its next dispatch is another entry. */
function lifeKey(p: Pick<Parked, 'provider' | 'instanceId' | 'dispatchId'>): string {
  return `${serverKey(p)}\u0000${p.dispatchId}`;
}

/**
 * The servers this process may rebuild for a waiting job. Taking one is synchronous, so two
 * dispatches of this process can never take the same server; a taken life is never offered
 * again until the reconciler has seen it relabelled or gone (its snapshot may predate the claim
 * being stored). The reconciler is the only one that offers and expires: it runs on the one
 * process that may rebuild (Hetzner's rebuild needs a single caller per server).
 */
export class ReuseDesk {
  readonly #parked = new Map<string, Parked>();
  readonly #taken = new Map<string, Parked>();

  /** Adds a parked server (again); false when it is there already or was taken in this life. */
  offer(parked: Parked): boolean {
    if (this.#taken.has(lifeKey(parked))) return false;
    const key = serverKey(parked);
    const known = this.#parked.get(key);
    if (known !== undefined && known.dispatchId === parked.dispatchId) return false;
    this.#parked.set(key, parked);
    return true;
  }

  /** Takes the matching server that `rank` puts first (lowest), or none. */
  take(matches: (p: Parked) => boolean, rank: (p: Parked) => number): Parked | undefined {
    let best: Parked | undefined;
    for (const parked of this.#parked.values()) {
      if (!matches(parked)) continue;
      if (best === undefined || rank(parked) < rank(best)) best = parked;
    }
    if (best === undefined) return undefined;
    this.#parked.delete(serverKey(best));
    this.#taken.set(lifeKey(best), best);
    return best;
  }

  /** The claim was not stored (the dispatch was cancelled first): the server waits again. */
  giveBack(parked: Parked): void {
    this.#taken.delete(lifeKey(parked));
    this.offer(parked);
  }

  /** The rebuild failed and the server is being deleted: the reconciler may judge it afresh. */
  release(parked: Pick<Parked, 'provider' | 'instanceId' | 'dispatchId'>): void {
    this.#taken.delete(lifeKey(parked));
  }

  isTaken(parked: Pick<Parked, 'provider' | 'instanceId' | 'dispatchId'>): boolean {
    return this.#taken.has(lifeKey(parked));
  }

  /** Takes a server off the desk (deleted, or no longer a candidate). */
  withdraw(parked: Pick<Parked, 'provider' | 'instanceId'>): void {
    this.#parked.delete(serverKey(parked));
  }

  /** Forgets taken lives for which `done` says the claim is visible elsewhere (relabelled, gone). */
  settle(done: (taken: Parked) => boolean): void {
    for (const [key, parked] of this.#taken) if (done(parked)) this.#taken.delete(key);
  }

  parked(): Parked[] {
    return [...this.#parked.values()];
  }
}
