import { selectRoute } from '@forgejo-fleet/config';
import { formatScope, parseScope, ScopeSyntaxError } from '@forgejo-fleet/forgejo';
import {
  type DispatchRecord,
  exceededLimit,
  LiveLimitError,
  type LiveLimitKind,
  type LiveLimits,
} from '@forgejo-fleet/store';
import type { UsageMeter } from './budgets.js';
import type { ServiceDeps } from './deps.js';
import { Conflict, Forbidden, Invalid, LimitReached, NoRoute, ServiceError, Unavailable } from './errors.js';
import type { ProviderHealth } from './provider-health.js';
import type { DispatchRequest } from './request.js';
import { type Caller, canSee } from './visibility.js';

export type { Caller } from './visibility.js';

/**
 * Checks a dispatch request and writes the intent. Nothing outside the store is called here,
 * so a refused request changes nothing, and an accepted one is on disk before any VM exists.
 */
export async function acceptDispatch(
  deps: ServiceDeps,
  guards: { health: ProviderHealth; usage: UsageMeter },
  request: DispatchRequest,
  caller: Caller,
): Promise<{ record: DispatchRecord; created: boolean }> {
  const scopeKey = configuredScope(deps, request.scope);
  if (!canSee(caller, scopeKey)) {
    throw new Forbidden(`client "${caller.name}" may not dispatch for scope ${scopeKey}`);
  }
  const route = selectRoute(deps.config.routes, request.labels);
  if (route === undefined) {
    throw new NoRoute(`no route takes labels [${request.labels.join(', ')}]`, {
      routes: deps.config.routes.map((r) => ({ name: r.name, labels: r.labels })),
    });
  }

  const handle = request.job?.handle ?? null;
  if (handle !== null) {
    const existing = await deps.store.getByHandle(handle);
    if (existing) {
      return { record: sameRequestOrConflict(existing, scopeKey, route.name, caller), created: false };
    }
  }

  const now = deps.clock.now();
  try {
    await checkLimits(deps, route.name, route.limits, scopeKey);
    // Budgets compare VM time already spent (shared in the store) with the cap; an accept spends
    // nothing, so there is nothing to reserve in the insert's transaction, and N replicas
    // overshoot a budget by exactly what one would: what the running VMs go on to spend.
    await guards.usage.check(deps, route.name, scopeKey);
    checkProvidersAvailable(deps, guards.health, route.providers, scopeKey, now);
  } catch (error) {
    if (error instanceof ServiceError) await refused(deps, route.name, scopeKey, error);
    throw error;
  }

  // The store counts again in the insert's own transaction: the check above is a cheap early
  // refusal, this one is exact across concurrent requests and every replica on the database.
  let result: { record: DispatchRecord; created: boolean };
  try {
    result = await deps.store.insert(
      {
        id: deps.newId(),
        handle,
        scope: scopeKey,
        labels: request.labels,
        route: route.name,
        client: caller.name,
        job: request.job ?? null,
        at: now,
      },
      { limits: liveLimits(deps, route.limits) },
    );
  } catch (error) {
    if (!(error instanceof LiveLimitError)) throw error;
    const refusal = limitReached(error.limit, {
      route: route.name,
      scope: scopeKey,
      max: error.max,
      live: error.live,
    });
    await refused(deps, route.name, scopeKey, refusal);
    throw refusal;
  }
  if (!result.created) {
    return { record: sameRequestOrConflict(result.record, scopeKey, route.name, caller), created: false };
  }
  return result;
}

function configuredScope(deps: ServiceDeps, text: string): string {
  let canonical: string;
  try {
    canonical = formatScope(parseScope(text));
  } catch (error) {
    if (!(error instanceof ScopeSyntaxError)) throw error;
    throw new Invalid(error.message, [{ path: 'scope', message: error.message }]);
  }
  const entry = deps.config.scopes.find((s) => s.key.toLowerCase() === canonical.toLowerCase());
  if (!entry) {
    const message = `scope ${canonical} is not configured on this dispatcher`;
    throw new Invalid(message, [{ path: 'scope', message }]);
  }
  return entry.key;
}

// The same handle must mean the same job: a second dispatch for it returns the first, unless
// it names another scope or route, which is a caller bug worth refusing loudly. A caller that
// cannot see the first dispatch learns only that the handle is taken: not its id, scope or route.
function sameRequestOrConflict(
  existing: DispatchRecord,
  scope: string,
  route: string,
  caller: Caller,
): DispatchRecord {
  if (!canSee(caller, existing.scope)) {
    throw new Conflict(`handle ${existing.handle} is already dispatched`);
  }
  if (existing.scope !== scope || existing.route !== route) {
    throw new Conflict(
      `handle ${existing.handle} was dispatched as ${existing.id} for ${existing.scope} on route ${existing.route}`,
      { dispatch_id: existing.id },
    );
  }
  return existing;
}

type RouteLimits = { max_vms: number; max_vms_per_scope?: number | undefined };

/** The caps a new (or revived) dispatch on this route must leave room under, as the store counts them. */
export function liveLimits(deps: ServiceDeps, limits: RouteLimits): LiveLimits {
  return { total: deps.config.limits.max_vms, route: limits.max_vms, routeScope: limits.max_vms_per_scope };
}

/**
 * A cheap early refusal from the live counts (also used by revive). Not exact under concurrency:
 * the insert enforces the same caps atomically (store `insert` with `limits`).
 */
export async function checkLimits(
  deps: ServiceDeps,
  route: string,
  limits: RouteLimits,
  scope: string,
): Promise<void> {
  const refused = exceededLimit(await deps.store.countLive(), { route, scope }, liveLimits(deps, limits));
  if (refused !== undefined) {
    throw limitReached(refused.limit, { route, scope, max: refused.max, live: refused.live });
  }
}

/** The 429 for a reached cap: the same words whether the pre-check or the insert found it. */
function limitReached(
  limit: LiveLimitKind,
  at: { route: string; scope: string; max: number; live: number },
): LimitReached {
  const { route, scope, max, live } = at;
  switch (limit) {
    case 'total':
      return new LimitReached(`the dispatcher is at its limit of ${max} live VMs`, {
        retryAfter: 30,
        details: { limit: 'limits.max_vms', live },
      });
    case 'route':
      return new LimitReached(`route ${route} is at its limit of ${max} live VMs`, {
        retryAfter: 30,
        details: { limit: 'routes.limits.max_vms', route, live },
      });
    case 'routeScope':
      return new LimitReached(`scope ${scope} is at its limit of ${max} live VMs on route ${route}`, {
        retryAfter: 30,
        details: { limit: 'routes.limits.max_vms_per_scope', route, scope, live },
      });
  }
}

/** Every refusal is counted and explained in the decision log. */
async function refused(deps: ServiceDeps, route: string, scope: string, error: ServiceError): Promise<void> {
  deps.observer.refused(route, error.code);
  await deps.decisions.record({ kind: 'refusal', reason: error.message, route, scope });
}

function checkProvidersAvailable(
  deps: ServiceDeps,
  health: ProviderHealth,
  chain: readonly string[],
  scopeKey: string,
  now: number,
): void {
  const providers = chain.map((name) => ({
    name,
    choices: deps.providerFor(name, scopeKey).choices.map((choice) => choice.key),
  }));
  const blocked = health.allBlocked(providers, now);
  if (blocked) {
    throw new Unavailable(`every provider choice of the route is failing: ${blocked.reasons.join('; ')}`, {
      retryAfter: Math.max(1, Math.ceil((blocked.until - now) / 1000)),
    });
  }
}
