import type { Instance, MachineChoice, Provider } from '@forgejo-fleet/providers';
import { ProviderError } from '@forgejo-fleet/providers';
import type { Limiter } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import type { DecisionInput } from './decision-log.js';
import type { ServiceDeps } from './deps.js';
import { errorClass, errorSummary } from './errors.js';
import type { ProviderCounts } from './provider-counts.js';
import type { ProviderHealth } from './provider-health.js';

/** Rate-limited answers wait and retry the same choice this often before moving on. */
export const RATE_LIMIT_RETRIES = 3;
/** Waiting longer than this for a rate limit is worse than trying the next choice. */
export const MAX_RATE_LIMIT_WAIT_MS = 60_000;
/** The wait when a rate-limited answer names no Retry-After. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 1_000;

/** What every create shares across the process: provider health, VM counts, create slots. */
export interface CreateContext {
  readonly health: ProviderHealth;
  /** VMs per provider, for `max_instances`. */
  readonly counts: ProviderCounts;
  /** One per provider: its `create_concurrency`. */
  readonly createSlots: (provider: string) => Limiter;
}

/**
 * One VM to make. A cold dispatch and a warm pool VM differ only in these fields; the walk and
 * its rules are the same for both.
 */
export interface CreateRequest {
  /** The providers to walk, in order (a dispatch: its route's chain; a pool VM: the pool's provider). */
  readonly providers: readonly string[];
  /** The scope whose provider credentials make the VM ('' for pool VMs: no scope owns them yet). */
  readonly scope: string;
  /** What the decision log names: the route, and the dispatch and scope when there is one. */
  readonly about: Pick<DecisionInput, 'route' | 'dispatch_id' | 'scope'>;
  readonly name: string;
  readonly userData: string;
  readonly tags: Readonly<Record<string, string>>;
  /** The key that makes a replayed create on this provider hand back the same VM. */
  readonly idempotencyKey: (provider: string) => string;
  /** The tags a lost answer's VM is looked up by (with `name`): the owner's mark among `tags`. */
  readonly lookupTags: Readonly<Record<string, string>>;
  readonly log: Logger;
}

export interface Made {
  readonly provider: string;
  readonly choice: MachineChoice;
  readonly instance: Instance;
  /** 1 for the first provider call of this VM, 2 for the next, … */
  readonly attempt: number;
}

export type CreateOutcome =
  | ({ readonly kind: 'created' } & Made)
  /** A create may have made a VM that the lookup could not see: nothing else was tried. */
  | { readonly kind: 'unresolved'; readonly reason: string }
  /** No choice could make it; `reason` lists every provider and choice with why. */
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * Walks the providers in order and, within each, its machine choices in order, until one makes
 * the VM. A provider at `max_instances` or with an open circuit is passed over; capacity and quota
 * answers cool that choice down and move on; fatal or repeated transient answers open the
 * provider's circuit; a rate-limited answer waits (Retry-After, bounded) and retries the same
 * choice. After an answer that may hide a created VM (transient: a timeout, a 5xx, a lost
 * connection) the provider is asked for the VM by its owner's tags before anything else is tried,
 * and when that lookup fails too the walk stops: another choice could make a second VM. Every
 * step is in the decision log; what the VM is recorded as is the caller's.
 */
export async function createVm(
  deps: ServiceDeps,
  context: CreateContext,
  request: CreateRequest,
): Promise<CreateOutcome> {
  const failures: string[] = [];
  let attempt = 0;
  for (const providerName of request.providers) {
    const provider = deps.providerFor(providerName, request.scope);
    const settings = deps.config.providers[providerName];
    const cap = settings?.max_instances;
    if (cap !== undefined && (await context.counts.count(providerName)) >= cap) {
      failures.push(`${providerName}: at max_instances (${cap})`);
      await deps.decisions.record({
        ...request.about,
        kind: 'fallback',
        reason: `provider ${providerName} is at max_instances (${cap}); trying the next provider`,
        provider: providerName,
      });
      continue;
    }
    for (const choice of provider.choices) {
      const now = deps.clock.now();
      const circuit = context.health.circuitOpen(providerName, now);
      if (circuit) {
        failures.push(`${providerName}: circuit open (${circuit.reason})`);
        break;
      }
      const blocked = context.health.choiceBlocked(providerName, choice.key, now);
      if (blocked) {
        failures.push(`${providerName} ${choice.key}: cooling down (${blocked.reason})`);
        continue;
      }
      attempt++;
      const outcome = await tryChoice(deps, context, request, provider, choice, attempt);
      if (outcome.instance) {
        context.health.succeeded(providerName, choice.key);
        return { kind: 'created', provider: providerName, choice, instance: outcome.instance, attempt };
      }
      if (outcome.unresolved) {
        const reason = `create answer lost and the lookup failed (${errorSummary(outcome.error)})`;
        await deps.decisions.record({
          ...request.about,
          kind: 'create-failed',
          reason: `${reason}; the reconciler resolves it`,
          provider: providerName,
          choice: choice.key,
          attempt,
          error_class: 'transient',
        });
        request.log.warn(
          { provider: providerName, choice: choice.key },
          'create unresolved; left to the reconciler',
        );
        return { kind: 'unresolved', reason };
      }
      const cls = errorClass(outcome.error);
      const reason = errorSummary(outcome.error);
      failures.push(`${providerName} ${choice.key}: ${cls}: ${reason}`);
      deps.observer.error(cls);
      const cooldownMs = settings?.cooldown ?? 60_000;
      context.health.failed(providerName, choice.key, cls, deps.clock.now(), cooldownMs, reason);
      await deps.decisions.record({
        ...request.about,
        kind: 'fallback',
        reason: `create failed (${cls}): ${reason}; trying the next choice`,
        provider: providerName,
        choice: choice.key,
        attempt,
        error_class: cls,
        cost: choice.hourlyPrice ?? null,
      });
      request.log.warn(
        { provider: providerName, choice: choice.key, class: cls, err: reason },
        'vm create failed',
      );
    }
  }
  const reason = `every provider choice failed: ${failures.length === 0 ? 'no provider choice available' : failures.join('; ')}`;
  await deps.decisions.record({ ...request.about, kind: 'create-failed', reason, attempt });
  return { kind: 'failed', reason };
}

/** The decision that records a made VM, in the same shape for every caller. */
export function createdDecision(request: CreateRequest, made: Made, reason: string): DecisionInput {
  return {
    ...request.about,
    kind: 'create',
    reason,
    provider: made.provider,
    choice: made.choice.key,
    attempt: made.attempt,
    cost: made.choice.hourlyPrice ?? null,
  };
}

/** The made VM's fields as a dispatch record and a pool record both keep them. */
export function madeVm(made: Made): { instance_id: string; machine: string; hourly_price: number | null } {
  return {
    instance_id: made.instance.id,
    machine: made.choice.key,
    hourly_price: made.choice.hourlyPrice ?? null,
  };
}

async function tryChoice(
  deps: ServiceDeps,
  context: CreateContext,
  request: CreateRequest,
  provider: Provider,
  choice: MachineChoice,
  attempt: number,
): Promise<{ instance?: Instance; error?: unknown; unresolved?: boolean }> {
  const spec = {
    name: request.name,
    idempotencyKey: request.idempotencyKey(provider.name),
    userData: request.userData,
    tags: request.tags,
    choice,
  };
  for (let wait = 0; ; wait++) {
    const started = deps.clock.now();
    try {
      const instance = await context
        .createSlots(provider.name)
        .run(() => context.counts.creating(provider.name, () => provider.create(spec)));
      deps.observer.providerCall(provider.name, 'create', 'ok', deps.clock.now() - started);
      return { instance };
    } catch (error) {
      const cls = errorClass(error);
      deps.observer.providerCall(provider.name, 'create', cls, deps.clock.now() - started);
      const retryAfter = rateLimitWait(error, wait);
      if (retryAfter !== undefined) {
        request.log.info({ provider: provider.name, retryAfter, attempt }, 'rate limited; waiting');
        await deps.clock.sleep(retryAfter);
        continue;
      }
      if (cls === 'transient') {
        const found = await lookUp(provider, request);
        if (found === 'none') return { error };
        if ('lookupError' in found) return { error: found.lookupError, unresolved: true };
        return { instance: found };
      }
      return { error };
    }
  }
}

/** How long to wait before retrying the same choice, or undefined to move on. */
function rateLimitWait(error: unknown, waitsSoFar: number): number | undefined {
  if (errorClass(error) !== 'rate-limited' || waitsSoFar >= RATE_LIMIT_RETRIES) return undefined;
  const retryAfter = error instanceof ProviderError ? error.retryAfterMs : undefined;
  const ms = retryAfter ?? DEFAULT_RATE_LIMIT_WAIT_MS;
  return ms <= MAX_RATE_LIMIT_WAIT_MS ? ms : undefined;
}

/**
 * The VM a lost answer may have made, found by its owner's tags and name: the instance, `'none'`
 * when the provider shows none, or the lookup's own error when it failed.
 */
async function lookUp(
  provider: Provider,
  request: CreateRequest,
): Promise<Instance | 'none' | { lookupError: unknown }> {
  try {
    const found = await provider.list(request.lookupTags);
    return found.find((instance) => instance.name === request.name && isUp(instance)) ?? 'none';
  } catch (error) {
    request.log.warn(
      { provider: provider.name, err: errorSummary(error) },
      'lookup after a failed create failed',
    );
    return { lookupError: error };
  }
}

/** Not on its way out: a VM being deleted is never adopted. */
export function isUp(instance: Instance): boolean {
  return instance.state === 'pending' || instance.state === 'running' || instance.state === 'unknown';
}
