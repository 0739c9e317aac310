import { selectRoute } from '@forgejo-fleet/config';
import { formatScope, parseScope, ScopeSyntaxError } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';
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
    await guards.usage.check(deps, route.name, scopeKey);
    checkProvidersAvailable(deps, guards.health, route.providers, scopeKey, now);
  } catch (error) {
    if (error instanceof ServiceError) {
      deps.observer.refused(route.name, error.code);
      await deps.decisions.record({
        kind: 'refusal',
        reason: error.message,
        route: route.name,
        scope: scopeKey,
      });
    }
    throw error;
  }

  const result = await deps.store.insert({
    id: deps.newId(),
    handle,
    scope: scopeKey,
    labels: request.labels,
    route: route.name,
    client: caller.name,
    job: request.job ?? null,
    at: now,
  });
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

export async function checkLimits(
  deps: ServiceDeps,
  route: string,
  limits: { max_vms: number; max_vms_per_scope?: number | undefined },
  scope: string,
): Promise<void> {
  const live = await deps.store.countLive();
  const global = deps.config.limits.max_vms;
  if (live.total >= global) {
    throw new LimitReached(`the dispatcher is at its limit of ${global} live VMs`, {
      retryAfter: 30,
      details: { limit: 'limits.max_vms', live: live.total },
    });
  }
  const onRoute = live.byRoute.get(route) ?? 0;
  if (onRoute >= limits.max_vms) {
    throw new LimitReached(`route ${route} is at its limit of ${limits.max_vms} live VMs`, {
      retryAfter: 30,
      details: { limit: 'routes.limits.max_vms', route, live: onRoute },
    });
  }
  const perScope = limits.max_vms_per_scope;
  const inScope = live.byRouteScope.get(`${route}\u0000${scope}`) ?? 0;
  if (perScope !== undefined && inScope >= perScope) {
    throw new LimitReached(`scope ${scope} is at its limit of ${perScope} live VMs on route ${route}`, {
      retryAfter: 30,
      details: { limit: 'routes.limits.max_vms_per_scope', route, scope, live: inScope },
    });
  }
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
