import type { UsageRow } from '@forgejo-fleet/store';
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
  /** Idle spans of servers taken since this process started: billed, but no dispatch's VM time. */
  readonly #idle: { readonly parked: Parked; readonly until: number }[] = [];
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

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
    this.#idle.push({ parked: best, until: this.#now() });
    return best;
  }

  /** The claim was not stored (the dispatch was cancelled first): the server waits again. */
  giveBack(parked: Parked): void {
    this.#taken.delete(lifeKey(parked));
    const at = this.#idle.findIndex((span) => span.parked === parked);
    if (at >= 0) this.#idle.splice(at, 1);
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

  /**
   * Billed time no dispatch counts: a kept server between its job's end and the next dispatch's
   * VM (or now), overlapping [since, now), charged to the route and scope of the job it last ran.
   * Budgets count these, so a server's billed hours are counted once, not per dispatch on it.
   */
  idleUsage(since: number, now: number): UsageRow[] {
    const spans = [...this.#idle, ...[...this.#parked.values()].map((parked) => ({ parked, until: now }))];
    this.#forgetBefore(since);
    return spans.flatMap(({ parked, until }) => {
      const ms = Math.max(0, Math.min(until, now) - Math.max(parked.parkedAt, since));
      if (ms === 0) return [];
      const cost = (ms * (parked.hourlyPrice ?? 0)) / 3_600_000;
      return [{ route: parked.route, scope: parked.scope, vm_ms: ms, cost }];
    });
  }

  #forgetBefore(since: number): void {
    for (let i = this.#idle.length - 1; i >= 0; i--)
      if ((this.#idle[i]?.until ?? 0) < since) this.#idle.splice(i, 1);
  }
}
