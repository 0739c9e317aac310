import { bootstrapFromConfig, renderUserData } from '@forgejo-fleet/cloud-init';
import { parseScope } from '@forgejo-fleet/forgejo';
import { ProviderError } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { Cooldowns } from './cooldown.js';
import type { ServiceDeps } from './deps.js';
import { instanceName, instanceTags } from './names.js';
import { releaseResources } from './release.js';

/**
 * Takes an accepted dispatch to a created VM: register the ephemeral runner in the job's scope,
 * render the user-data, and try the route's providers in order. Every step is a compare-and-set
 * on the record, so a cancel that lands in between wins and whatever this made is released.
 */
export async function provision(
  deps: ServiceDeps,
  cooldowns: Cooldowns,
  record: DispatchRecord,
): Promise<void> {
  const { config, store, clock } = deps;
  const log = deps.log.child({ dispatchId: record.id, route: record.route, scope: record.scope });
  const route = config.routes.find((r) => r.name === record.route);
  if (!route) {
    await store.transition(record.id, ['accepted'], 'failed', clock.now(), {
      error: `route ${record.route} is no longer configured`,
    });
    return;
  }
  if (!(await store.transition(record.id, ['accepted'], 'registering', clock.now()))) return;

  const name = instanceName(
    route.runner?.name_prefix ?? config.runner.name_prefix ?? config.fleet_id,
    record.id,
  );
  let registered: { id: number; uuid: string; token: string };
  try {
    registered = await deps.forgejoFor(record.scope).registerRunner(parseScope(record.scope), {
      name,
      ephemeral: true,
      description: `forgejo-fleet ${config.fleet_id} dispatch ${record.id}`,
    });
  } catch (error) {
    log.warn({ err: errorSummary(error) }, 'runner registration failed');
    await store.transition(record.id, ['registering'], 'failed', clock.now(), {
      error: `runner registration failed: ${errorSummary(error)}`,
    });
    return;
  }
  const runner = { id: registered.id, uuid: registered.uuid, name };
  const provisioning = await store.transition(record.id, ['registering'], 'provisioning', clock.now(), {
    runner,
  });
  if (!provisioning) {
    await releaseResources(deps, { ...record, runner }, log);
    return;
  }

  const userData = renderUserData(
    bootstrapFromConfig({
      config,
      route,
      runner: { uuid: registered.uuid, token: registered.token, name },
      handle: record.handle ?? undefined,
      dispatchId: record.id,
    }),
  );
  const tags = instanceTags({
    fleetId: config.fleet_id,
    dispatchId: record.id,
    handle: record.handle,
    route: route.name,
    scope: record.scope,
  });

  const failures: string[] = [];
  for (const providerName of route.providers) {
    const blocked = cooldowns.blockedUntil(providerName, clock.now());
    if (blocked) {
      failures.push(`${providerName}: cooling down (${blocked.reason})`);
      continue;
    }
    const provider = deps.providerFor(providerName, record.scope);
    try {
      const instance = await provider.create({
        name,
        idempotencyKey: `${config.fleet_id}-${record.id}-${providerName}`,
        userData,
        tags,
      });
      cooldowns.clear(providerName);
      const booting = await store.transition(record.id, ['provisioning'], 'booting', clock.now(), {
        provider: providerName,
        instance_id: instance.id,
      });
      if (!booting) {
        await releaseResources(
          deps,
          { ...provisioning, provider: providerName, instance_id: instance.id },
          log,
        );
      } else {
        log.info({ provider: providerName, instanceId: instance.id }, 'vm created');
      }
      return;
    } catch (error) {
      const reason = errorSummary(error);
      failures.push(`${providerName}: ${reason}`);
      const cooldown = providerCooldown(config.providers[providerName], error);
      cooldowns.coolDown(providerName, clock.now() + cooldown, reason);
      log.warn({ provider: providerName, err: reason }, 'vm create failed; trying the next provider');
    }
  }
  const failed = await store.transition(record.id, ['provisioning'], 'failed', clock.now(), {
    error: `every provider failed: ${failures.join('; ')}`,
  });
  await releaseResources(deps, failed ?? provisioning, log);
}

function providerCooldown(provider: { cooldown: number } | undefined, error: unknown): number {
  if (error instanceof ProviderError && error.retryAfterMs !== undefined) return error.retryAfterMs;
  return provider?.cooldown ?? 60_000;
}

export function errorSummary(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
