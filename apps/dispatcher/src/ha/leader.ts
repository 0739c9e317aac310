import { AsyncLocalStorage } from 'node:async_hooks';
import { type Clock, every, type Loop } from '@forgejo-fleet/runtime';
import type { LeaseFence, Store } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import { errorSummary } from '../service/errors.js';
import type { Leadership, Role } from '../service/leadership.js';

/** The one lease the dispatchers of a store compete for. */
export const LEADER_LEASE = 'dispatcher-leader';

export type RenewalResult = 'acquired' | 'renewed' | 'held-elsewhere' | 'error';

/** What the election reports, for metrics. Never throws, never blocks. */
export interface HaObserver {
  role(role: Role): void;
  renewal(result: RenewalResult): void;
  /** Became leader after another holder had the lease. */
  failover(): void;
  epoch(epoch: number): void;
}

/** A follower's next try is at least this far off (a lease that just ran out, or none). */
const FOLLOWER_RETRY_MIN_MS = 25;
/** Past the holder's expiry by this much, so the store sees it expired. */
const EXPIRY_SLACK_MS = 10;

export interface LeaderElectionOptions {
  readonly store: Pick<Store, 'acquireLease' | 'releaseLease' | 'readLease'>;
  /** Unique per process: `host:pid:random`. */
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly observer?: HaObserver;
  /** Called when this replica starts a term (the reconciler starts a pass at once). */
  readonly onLeader?: () => void;
}

/** One term of this replica's leadership: its fence, and the signal its work stops on. */
interface Term {
  readonly fence: LeaseFence;
  readonly stop: AbortController;
}

/** Thrown instead of a provider delete the leader is no longer sure it may make. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';

  constructor(reason: string) {
    super(`not deleting: ${reason}; the leader's next pass decides again`);
  }
}

export interface LeaderElection extends Leadership {
  /** Starts renewing (and competing for) the lease every `renewEveryMs`; the first try is at once. */
  start(): void;
  /** One renewal (or attempt to take the lease): what the loop runs; tests call it directly. */
  renew(): Promise<void>;
  /** Stops leader work and renewing, and releases the lease so a follower takes over at once. */
  stop(): Promise<void>;
  /** The fence of the leader work running in the caller's async context, if any. */
  fence(): LeaseFence | undefined;
  /**
   * A cloud API cannot be fenced, so leader work deletes a VM only while at least a third of
   * the lease is left since the last successful renewal; work outside the leader role (an API
   * cancel, on any replica) is not leader work and is not held back.
   */
  mayDelete(): { ok: true } | { ok: false; reason: string };
}

/**
 * The lease loop of one replica. Every `renewEveryMs` it renews the lease, or tries to take it;
 * a renewal that fails or finds the lease taken ends the term at once (its work's signal aborts).
 * Leader work runs in an async context that names its term (`lead`), so the store wrapper and the
 * delete guard (fencing.ts) know which writes and deletes are made on behalf of the leader role.
 */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const { store, holder, ttlMs, clock, log } = options;
  const observer = options.observer;
  const running = new AsyncLocalStorage<Term>();
  let term: Term | undefined;
  /** Local time at which the last successful acquire or renewal was sent (not answered). */
  let renewedAt = Number.NEGATIVE_INFINITY;
  /** When a follower tries next: the moment another holder's lease runs out, at most a renewal period. */
  let nextTryMs = options.renewEveryMs;
  let loop: Loop | undefined;
  observer?.role('follower');

  function endTerm(reason: string): void {
    if (term === undefined) return;
    log.warn({ epoch: term.fence.epoch, reason }, 'leadership lost; leader work stops');
    term.stop.abort(new LeadershipLostError(reason));
    term = undefined;
    observer?.role('follower');
  }

  async function renew(): Promise<void> {
    const sentAt = clock.now();
    let grant: Awaited<ReturnType<typeof store.acquireLease>>;
    try {
      grant = await store.acquireLease(LEADER_LEASE, holder, ttlMs, sentAt);
    } catch (error) {
      observer?.renewal('error');
      log.warn({ err: errorSummary(error) }, 'lease renewal failed');
      endTerm('the lease could not be renewed');
      return;
    }
    if (grant === undefined) {
      observer?.renewal('held-elsewhere');
      endTerm('another replica holds the lease');
      nextTryMs = await untilExpiry();
      return;
    }
    nextTryMs = options.renewEveryMs;
    renewedAt = sentAt;
    if (term !== undefined && term.fence.epoch === grant.epoch) {
      observer?.renewal('renewed');
      return;
    }
    endTerm('a new term began');
    term = { fence: { name: LEADER_LEASE, epoch: grant.epoch }, stop: new AbortController() };
    observer?.renewal('acquired');
    observer?.role('leader');
    observer?.epoch(grant.epoch);
    if (grant.previousHolder !== null && grant.previousHolder !== holder) observer?.failover();
    log.info({ epoch: grant.epoch, previousHolder: grant.previousHolder }, 'became the leader');
    options.onLeader?.();
  }

  /**
   * A follower tries again right when the holder's lease runs out (by the store's clock, so no
   * skew between hosts), so a dead leader is replaced within one lease TTL of its last renewal
   * rather than up to a renewal period later.
   */
  async function untilExpiry(): Promise<number> {
    try {
      const lease = await store.readLease(LEADER_LEASE, clock.now());
      if (lease === undefined) return FOLLOWER_RETRY_MIN_MS;
      return Math.min(
        options.renewEveryMs,
        Math.max(FOLLOWER_RETRY_MIN_MS, lease.expiresInMs + EXPIRY_SLACK_MS),
      );
    } catch {
      return options.renewEveryMs;
    }
  }

  /** The caller's term while it is still this replica's current one and not past its lease. */
  function currentTerm(): Term | undefined {
    const mine = running.getStore();
    if (mine === undefined || mine !== term) return undefined;
    return clock.now() - renewedAt < ttlMs ? mine : undefined;
  }

  return {
    role: () => (term === undefined ? 'follower' : 'leader'),

    async lead(work, signal) {
      // Leader work started by leader work (a refill inside a pass) stays in that term.
      const inherited = running.getStore();
      if (inherited !== undefined) {
        if (currentTerm() === undefined) return undefined;
        return work(
          signal === undefined ? inherited.stop.signal : AbortSignal.any([signal, inherited.stop.signal]),
        );
      }
      const now = term;
      if (now === undefined || clock.now() - renewedAt >= ttlMs) return undefined;
      const leading = signal === undefined ? now.stop.signal : AbortSignal.any([signal, now.stop.signal]);
      return running.run(now, () => work(leading));
    },

    fence() {
      return running.getStore()?.fence;
    },

    mayDelete() {
      const mine = running.getStore();
      if (mine === undefined) return { ok: true };
      if (mine !== term) return { ok: false, reason: 'this replica is no longer the leader of that term' };
      const left = ttlMs - (clock.now() - renewedAt);
      if (left < ttlMs / 3) {
        return { ok: false, reason: `only ${Math.max(0, left)} ms of the lease are left` };
      }
      return { ok: true };
    },

    renew,

    start() {
      if (loop !== undefined) return;
      loop = every(
        () => (term === undefined ? nextTryMs : options.renewEveryMs),
        () => renew(),
        {
          name: 'ha-lease',
          clock,
          log,
          immediate: true,
        },
      );
    },

    async stop() {
      await loop?.stop();
      const last = term;
      endTerm('the dispatcher is stopping');
      if (last === undefined) return;
      try {
        await store.releaseLease(LEADER_LEASE, holder, last.fence.epoch);
      } catch (error) {
        // The lease then runs out by itself: a follower takes over within one TTL.
        log.warn({ err: errorSummary(error) }, 'lease release failed');
      }
    },
  };
}
