import type { Route } from '@forgejo-fleet/config';
import type { Instance } from '@forgejo-fleet/providers';
import type { DispatchRecord, WarmVm } from '@forgejo-fleet/store';
import type { UsageMeter } from '../budgets.js';
import { type CreateContext, type CreateRequest, createdDecision, createVm, madeVm } from '../create-vm.js';
import type { ServiceDeps } from '../deps.js';
import { errorSummary } from '../errors.js';
import { leadershipOf } from '../leadership.js';
import { STORE_TAG } from '../ownership.js';
import { type ReuseClaim, takeParkedForPool } from '../reuse/claim.js';
import type { ReuseDesk } from '../reuse/desk.js';
import type { Parked } from '../reuse/parked.js';
import { rebuildForPool } from '../reuse/pool-rebuild.js';
import { WARM_RECHECK_MS } from './claims.js';
import { type HandoffResult, handOff } from './handoff.js';
import { Mailbox, type PollAnswer } from './mailbox.js';
import { hasWarmPool, targetIdle } from './pool-size.js';
import { hashSecret, newAgentSecret, newWarmId, secretMatches } from './secrets.js';

/** Renders a warm VM's user-data (the cloud-init package's warm renderer, injected for tests). */
export type WarmUserData = (params: {
  route: Route;
  vmId: string;
  secret: string;
  agentUrl: string;
}) => string;

export type { PollAnswer } from './mailbox.js';

/** Compared against when the VM is unknown or its secret is used up, so every refusal costs one hash. */
const NO_SECRET_HASH = '0'.repeat(64);

/** A pool VM counts against limits until a dispatch claims it (then the dispatch counts). */
const UNCLAIMED: readonly WarmVm['state'][] = ['creating', 'booting', 'idle'];

/** What the pool shares with cold creates, plus today's budgets (a refill respects them). */
export interface PoolContext extends CreateContext {
  readonly usage: UsageMeter;
  /** Servers kept for paid-hour reuse: a refill rebuilds one of its route instead of creating. */
  readonly reuse?: ReuseDesk;
}

type KeptServer = ReuseClaim & { readonly parked: Parked };

/**
 * The warm pools of every route: creates VMs ahead of demand, answers their agents' polls, gives
 * an idle VM to a dispatch at most once (the store's atomic claim), and hands the agent its job
 * on whichever replica its poll reaches (handoff.ts).
 */
export class WarmPool {
  readonly mailbox = new Mailbox();
  readonly #creating = new Map<string, { route: string; work: Promise<void> }>();
  readonly #handoffs = new Set<Promise<unknown>>();
  #refills: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly context: PoolContext,
    private readonly userData: WarmUserData,
    private readonly timer: (fn: () => void, ms: number) => () => void,
  ) {}

  get inFlight(): ReadonlySet<string> {
    return new Set(this.#creating.keys());
  }

  /**
   * Tops every route's pool up to its target, within the route's and the global VM limits and
   * budgets. Refills run one at a time and count the VMs still being created, so a burst of
   * assignments cannot overshoot the target. Leader's work: a follower's refill does nothing
   * (the leader's next pass tops the pool up), and the leader's creates carry its lease epoch.
   */
  async refill(): Promise<void> {
    await leadershipOf(this.deps).lead(() => {
      const next = this.#refills.then(() => this.#refillOnce());
      this.#refills = next.catch(() => undefined);
      return next;
    });
  }

  async #refillOnce(): Promise<void> {
    const { config, store, clock } = this.deps;
    if (config.agent === undefined) return;
    const listed = await store.listWarm();
    const known = new Set(listed.map((vm) => vm.id));
    const starting = [...this.#creating]
      .filter(([id]) => !known.has(id))
      .map(([id, c]) => ({ id, route: c.route }));
    const warm = [...listed.filter((vm) => UNCLAIMED.includes(vm.state)), ...starting];
    const live = await store.countLive();
    let total = live.total + warm.length;
    for (const route of config.routes) {
      if (!hasWarmPool(route)) continue;
      const pool = warm.filter((vm) => vm.route === route.name);
      const deficit = targetIdle(route, clock.now()) - pool.length;
      if (deficit <= 0) continue;
      const budgets = await this.context.usage.states(this.deps, route.name, '');
      if (budgets.some((b) => b.cap.startsWith('routes.') && b.used >= b.limit)) continue;
      const room = Math.min(
        route.limits.max_vms - (live.byRoute.get(route.name) ?? 0) - pool.length,
        config.limits.max_vms - total,
      );
      for (let i = 0; i < Math.min(deficit, room); i++) {
        total++;
        this.#start(route, this.#takeKept(route));
      }
    }
  }

  /** Takes an idle VM of the route for this dispatch, or undefined (then the dispatch goes cold). */
  async claim(record: DispatchRecord, route: Route): Promise<WarmVm | undefined> {
    if (!hasWarmPool(route)) return undefined;
    // A scope with its own credentials for a provider must get VMs made with them.
    const scope = this.deps.config.scopes.find((s) => s.key === record.scope);
    const excluded = Object.keys(scope?.providers ?? {});
    return this.deps.store.claimWarm(route.name, record.id, this.deps.clock.now(), { providers: excluded });
  }

  /**
   * A claim was just stored: when the VM's agent has a poll held on this replica, its job is
   * handed over now and this resolves once it is; otherwise the agent's next look at the store
   * (its held poll's recheck or its next poll, on any replica) hands it over.
   */
  async handOffHeld(vm: WarmVm): Promise<void> {
    await this.mailbox.ring(vm.id, () => this.#handOff(vm).then(asAnswer));
  }

  /**
   * One agent poll: checks the VM's one-time secret, records the check-in, waits for a job. An
   * unknown VM, a wrong secret and a used one all answer 401 after the same lookup and hash, so
   * a caller without the secret learns nothing about which VMs exist. `admit` runs once the secret
   * matched (the endpoint's rate limits for proven VMs); false answers 429. While it holds, the
   * poll looks at the store every WARM_RECHECK_MS: a claim made on another replica is found
   * there, one made here rings at once.
   */
  async poll(vmId: string, secret: string, signal?: AbortSignal, admit?: () => boolean): Promise<PollAnswer> {
    const { store, clock, config } = this.deps;
    const vm = await store.getWarm(vmId);
    const matches = secretMatches(secret, vm?.secret_hash ?? NO_SECRET_HASH);
    if (vm === undefined || vm.secret_hash === null || !matches) return { status: 401 };
    if (admit && !admit()) return { status: 429 };
    if (vm.state === 'retired' || vm.state === 'assigned') return { status: 410 };
    const hold = config.agent?.hold ?? 25_000;
    if (vm.state === 'creating') {
      // The agent is faster than the create's answer: not claimable until its instance id is known.
      await new Promise<void>((resolve) => this.timer(resolve, Math.min(hold, 1_000)));
      return { status: 204 };
    }
    if (vm.state === 'booting') {
      const ready = await store.updateWarm(vm.id, ['booting'], 'idle', clock.now());
      if (ready) this.deps.log.info({ warmId: vm.id, route: vm.route }, 'warm vm ready');
    }
    if (vm.state === 'claimed') {
      const now = await this.#handOff(vm);
      if (now !== 'not-yet') return now;
    }
    let holding = true;
    const endHold = this.timer(() => {
      holding = false;
      this.mailbox.nudge(vm.id);
    }, hold);
    try {
      for (;;) {
        const wake = await this.mailbox.wait(vm.id, Math.min(hold, WARM_RECHECK_MS), this.timer, signal);
        if (wake.kind === 'handed') return await wake.answer;
        if (wake.kind === 'stop') return { status: 204 };
        const answer = await this.#recheck(vm.id);
        if (answer !== undefined) return answer;
        if (!holding) return { status: 204 };
      }
    } finally {
      endHold();
    }
  }

  /** The store's word on a held VM: its job (claimed), 410 (gone to another poll, retired), or wait on. */
  async #recheck(vmId: string): Promise<PollAnswer | undefined> {
    const vm = await this.deps.store.getWarm(vmId);
    if (vm === undefined || vm.state === 'retired' || vm.state === 'assigned') return { status: 410 };
    if (vm.state !== 'claimed') return undefined;
    const answer = await this.#handOff(vm);
    return answer === 'not-yet' ? undefined : answer;
  }

  /** One handoff (handoff.ts), tracked so that drain() waits for it. */
  #handOff(vm: WarmVm): Promise<HandoffResult> {
    const work = handOff(this.deps, vm, {
      retire: (taken, reason) => this.retire(taken, reason),
      refill: () =>
        void this.refill().catch((error: unknown) =>
          this.deps.log.warn({ err: errorSummary(error) }, 'warm pool refill failed'),
        ),
    });
    const tracked = work.catch(() => undefined).finally(() => this.#handoffs.delete(tracked));
    this.#handoffs.add(tracked);
    return work;
  }

  /** Kills a pool VM (if it was made) and retires its record. */
  async retire(
    vm: WarmVm,
    reason: string,
    instance?: Instance,
    options: { deleteVm: boolean } = { deleteVm: true },
  ): Promise<void> {
    this.mailbox.nudge(vm.id);
    const id = options.deleteVm ? (instance?.id ?? vm.instance_id) : null;
    if (id !== null) {
      try {
        await this.deps.providerFor(vm.provider, '').delete(id);
      } catch (error) {
        this.deps.log.warn(
          { warmId: vm.id, err: errorSummary(error) },
          'warm vm delete failed; retrying next pass',
        );
        return;
      }
    }
    const retired = await this.deps.store.updateWarm(vm.id, [vm.state], 'retired', this.deps.clock.now(), {
      reason,
    });
    if (retired && id !== null) {
      await this.deps.decisions.record({
        kind: 'delete',
        reason: `warm vm ${vm.id} (${id}) deleted: ${reason}`,
        route: vm.route,
        provider: vm.provider,
        choice: vm.machine,
      });
    }
  }

  /** Waits for pool VMs being created and handoffs under way (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#creating.size > 0 || this.#handoffs.size > 0) {
      await Promise.all([...[...this.#creating.values()].map((c) => c.work), ...this.#handoffs]);
    }
  }

  /** A server of this route kept after its job, taken off the desk for the pool (reuse.paid_hour). */
  #takeKept(route: Route): KeptServer | undefined {
    const desk = this.context.reuse;
    if (desk === undefined) return undefined;
    return takeParkedForPool(this.deps, desk, route, poolProvider(route));
  }

  #start(route: Route, kept?: KeptServer): void {
    const id = newWarmId();
    const work = this.#create(route, id, kept)
      .catch((error: unknown) => {
        this.deps.log.error({ warmId: id, err: errorSummary(error) }, 'warm vm create crashed');
      })
      .finally(() => this.#creating.delete(id));
    this.#creating.set(id, { route: route.name, work });
  }

  async #create(route: Route, id: string, kept?: KeptServer): Promise<void> {
    const { deps, context } = this;
    const agentUrl = deps.config.agent?.public_url;
    if (agentUrl === undefined) {
      if (kept !== undefined) context.reuse?.giveBack(kept.parked);
      return;
    }
    const providerName = poolProvider(route);
    const secret = newAgentSecret();
    const insert = () =>
      deps.store.insertWarm({
        id,
        route: route.name,
        provider: providerName,
        secret_hash: hashSecret(secret),
        at: deps.clock.now(),
      });
    const owner = { 'forgejo-fleet': deps.config.fleet_id, 'forgejo-fleet-warm': id };
    const name = `${deps.config.fleet_id}-${id}`.slice(0, 63);
    const userData = this.userData({ route, vmId: id, secret, agentUrl });
    const tags = { ...owner, [STORE_TAG]: deps.store.storeId, 'forgejo-fleet-route': route.name };
    const log = deps.log.child({ warmId: id, route: route.name });
    if (kept !== undefined && context.reuse !== undefined) {
      const params = { id, route, claim: kept, name, userData, tags, insert, log };
      const reused = await rebuildForPool(deps, context.reuse, params);
      if (reused === 'rebuilt') return;
      // The failed rebuild's record is retired and its tags may linger: create under a new id.
      if (reused === 'failed') return this.#start(route);
    }
    const vm = await insert();
    const request: CreateRequest = {
      // The pool record names one provider, so a pool VM is made by that provider's choices only.
      providers: [providerName],
      scope: '',
      about: { route: route.name },
      name,
      userData,
      tags,
      idempotencyKey: () => `${deps.config.fleet_id}-${id}`,
      lookupTags: owner,
      log,
    };
    const outcome = await createVm(deps, context, request);
    if (outcome.kind !== 'created') {
      // A VM a lost answer made carries this retired pool id: the orphan sweep deletes it.
      await deps.store.updateWarm(id, ['creating'], 'retired', deps.clock.now(), { reason: outcome.reason });
      request.log.warn({ reason: outcome.reason }, 'warm vm not created');
      return;
    }
    const { instance } = outcome;
    const booting = await deps.store.updateWarm(
      id,
      ['creating'],
      'booting',
      deps.clock.now(),
      madeVm(outcome),
    );
    await deps.decisions.record(
      createdDecision(
        request,
        outcome,
        `warm vm ${id} (${instance.id}) created for route ${route.name}'s pool`,
      ),
    );
    if (!booting)
      await this.retire({ ...vm, instance_id: instance.id }, 'retired while it was created', instance);
  }
}

/** Which of the route's providers makes its pool VMs. */
function poolProvider(route: Route): string {
  return route.warm?.provider ?? route.providers[0] ?? '';
}

/** A handoff rung from a claim: `not-yet` cannot happen there (the dispatch has moved on), but reads as "nothing yet". */
function asAnswer(result: HandoffResult): PollAnswer {
  return result === 'not-yet' ? { status: 204 } : result;
}
