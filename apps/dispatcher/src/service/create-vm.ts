import type { Route } from '@forgejo-fleet/config';
import type { Instance, MachineChoice, Provider } from '@forgejo-fleet/providers';
import { ProviderError } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { ServiceDeps } from './deps.js';
import { errorClass, errorSummary } from './errors.js';
import type { ProvisionContext } from './provision.js';
import { releaseResources } from './release.js';

/** Rate-limited answers wait and retry the same choice this often before moving on. */
export const RATE_LIMIT_RETRIES = 3;
/** Waiting longer than this for a rate limit is worse than trying the next choice. */
export const MAX_RATE_LIMIT_WAIT_MS = 60_000;

export interface CreateRequest {
  readonly record: DispatchRecord;
  readonly route: Route;
  readonly name: string;
  readonly userData: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly log: Logger;
}

/**
 * Walks the route's providers in order and, within each, its machine choices in order, until one
 * makes the VM. Capacity and quota answers cool that choice down and move on; fatal or repeated
 * transient answers open the provider's circuit; a rate-limited answer waits and retries. After an
 * answer that may hide a created VM (transient: a timeout, a 5xx, a lost connection) the provider
 * is asked for an instance carrying this dispatch's tag before anything else is tried, so a
 * fallback never makes a second VM.
 */
export async function createVm(deps: ServiceDeps, context: ProvisionContext, request: CreateRequest) {
  const { record, route, log } = request;
  const failures: string[] = [];
  let attempt = 0;
  for (const providerName of route.providers) {
    const provider = deps.providerFor(providerName, record.scope);
    const settings = deps.config.providers[providerName];
    const cooldownMs = settings?.cooldown ?? 60_000;
    const cap = settings?.max_instances;
    if (cap !== undefined && (await context.counts.count(providerName)) >= cap) {
      failures.push(`${providerName}: at max_instances (${cap})`);
      await deps.decisions.record({
        kind: 'fallback',
        reason: `provider ${providerName} is at max_instances (${cap}); trying the next provider`,
        dispatch_id: record.id,
        route: route.name,
        scope: record.scope,
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
        await recordCreated(deps, request, providerName, choice, outcome.instance, attempt);
        return;
      }
      if (outcome.unresolved) {
        // The create may have made a VM that we cannot see: trying another choice could make a
        // second one. The dispatch stays `provisioning`; the reconciler's resume step finds the VM
        // by its tag and adopts it, or creates again under the same idempotency key.
        await deps.decisions.record({
          kind: 'create-failed',
          reason: `create answer lost and the lookup failed (${errorSummary(outcome.error)}); the reconciler resolves it`,
          dispatch_id: record.id,
          route: route.name,
          scope: record.scope,
          provider: providerName,
          choice: choice.key,
          attempt,
          error_class: 'transient',
        });
        log.warn({ provider: providerName, choice: choice.key }, 'create unresolved; left to the reconciler');
        return;
      }
      const cls = errorClass(outcome.error);
      const reason = errorSummary(outcome.error);
      failures.push(`${providerName} ${choice.key}: ${cls}: ${reason}`);
      deps.observer.error(cls);
      context.health.failed(providerName, choice.key, cls, deps.clock.now(), cooldownMs, reason);
      await deps.decisions.record({
        kind: 'fallback',
        reason: `create failed (${cls}): ${reason}; trying the next choice`,
        dispatch_id: record.id,
        route: route.name,
        scope: record.scope,
        provider: providerName,
        choice: choice.key,
        attempt,
        error_class: cls,
        cost: choice.hourlyPrice ?? null,
      });
      log.warn({ provider: providerName, choice: choice.key, class: cls, err: reason }, 'vm create failed');
    }
  }
  const summary = failures.length === 0 ? 'no provider choice available' : failures.join('; ');
  await deps.decisions.record({
    kind: 'create-failed',
    reason: `every provider choice failed: ${summary}`,
    dispatch_id: record.id,
    route: route.name,
    scope: record.scope,
    attempt,
  });
  const failed = await deps.store.transition(record.id, ['provisioning'], 'failed', deps.clock.now(), {
    error: `every provider choice failed: ${summary}`,
  });
  await releaseResources(deps, failed ?? record, log);
}

async function tryChoice(
  deps: ServiceDeps,
  context: ProvisionContext,
  request: CreateRequest,
  provider: Provider,
  choice: MachineChoice,
  attempt: number,
): Promise<{ instance?: Instance; error?: unknown; unresolved?: boolean }> {
  const spec = {
    name: request.name,
    // The retry count is part of the key: a fresh VM after a pickup timeout is a new create, never
    // an idempotent replay that hands back the VM just deleted.
    idempotencyKey: `${deps.config.fleet_id}-${request.record.id}-${request.record.retries}-${provider.name}`,
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
      deps.observer.providerCall(provider.name, 'create', errorClass(error), deps.clock.now() - started);
      if (errorClass(error) === 'rate-limited' && wait < RATE_LIMIT_RETRIES) {
        const retryAfter = error instanceof ProviderError ? (error.retryAfterMs ?? 1_000) : 1_000;
        if (retryAfter <= MAX_RATE_LIMIT_WAIT_MS) {
          request.log.info({ provider: provider.name, retryAfter, attempt }, 'rate limited; waiting');
          await deps.clock.sleep(retryAfter);
          continue;
        }
      }
      if (errorClass(error) === 'transient') {
        const found = await findByDispatch(deps, provider, request.record.id, request.name, request.log);
        if (found === 'unknown') return { error, unresolved: true };
        if (found !== 'none') return { instance: found };
      }
      return { error };
    }
  }
}

/**
 * The VM a lost answer may have made, found by its dispatch tag and name: the instance, `'none'`
 * when the provider shows none, or `'unknown'` when the lookup itself failed.
 */
export async function findByDispatch(
  deps: ServiceDeps,
  provider: Provider,
  dispatchId: string,
  name: string,
  log: Logger,
): Promise<Instance | 'none' | 'unknown'> {
  try {
    const found = await provider.list({
      'forgejo-fleet': deps.config.fleet_id,
      'forgejo-fleet-dispatch': dispatchId,
    });
    return found.find((instance) => instance.name === name && isUp(instance)) ?? 'none';
  } catch (error) {
    log.warn({ provider: provider.name, err: errorSummary(error) }, 'lookup after a failed create failed');
    return 'unknown';
  }
}

async function recordCreated(
  deps: ServiceDeps,
  request: CreateRequest,
  providerName: string,
  choice: MachineChoice,
  instance: Instance,
  attempt: number,
): Promise<void> {
  const { record, route, log } = request;
  const booting = await deps.store.transition(record.id, ['provisioning'], 'booting', deps.clock.now(), {
    provider: providerName,
    instance_id: instance.id,
    machine: choice.key,
    hourly_price: choice.hourlyPrice ?? null,
  });
  await deps.decisions.record({
    kind: 'create',
    reason: booting
      ? `vm ${instance.id} created`
      : `vm ${instance.id} created after the dispatch ended; deleting`,
    dispatch_id: record.id,
    route: route.name,
    scope: record.scope,
    provider: providerName,
    choice: choice.key,
    attempt,
    cost: choice.hourlyPrice ?? null,
  });
  if (!booting) {
    const current = await deps.store.get(record.id);
    await releaseResources(
      deps,
      { ...(current ?? record), provider: providerName, instance_id: instance.id },
      log,
    );
    return;
  }
  log.info({ provider: providerName, choice: choice.key, instanceId: instance.id }, 'vm created');
}

/** Not on its way out: a VM being deleted is never adopted. */
export function isUp(instance: Instance): boolean {
  return instance.state === 'pending' || instance.state === 'running' || instance.state === 'unknown';
}
