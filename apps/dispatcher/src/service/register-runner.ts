import type { Route } from '@forgejo-fleet/config';
import { parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord, DispatchState } from '@forgejo-fleet/store';
import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';
import { instanceName } from './names.js';
import { runnerDescription } from './ownership.js';
import { runnerPrefix } from './runner-prefix.js';

/** A registered runner: what the record keeps (`runner`) and the single-use token for the VM. */
export interface DispatchRunner {
  readonly runner: { readonly id: number; readonly uuid: string; readonly name: string };
  readonly token: string;
}

/**
 * Registers the dispatch's ephemeral runner in its scope, named and described so the sweeps know
 * whose it is. The one path for cold, warm and reused VMs: when Forgejo refuses, the dispatch fails
 * (from `from`; revived while its job waits) and undefined comes back.
 */
export async function registerDispatchRunner(
  deps: ServiceDeps,
  route: Route,
  record: DispatchRecord,
  from: DispatchState,
  log: ServiceDeps['log'],
): Promise<DispatchRunner | undefined> {
  const { config, store } = deps;
  const name = instanceName(runnerPrefix(config, route), record.id);
  try {
    const registered = await deps.forgejoFor(record.scope).registerRunner(parseScope(record.scope), {
      name,
      ephemeral: true,
      description: runnerDescription(config.fleet_id, record.id, store.storeId),
    });
    return { runner: { id: registered.id, uuid: registered.uuid, name }, token: registered.token };
  } catch (error) {
    deps.observer.error('forgejo');
    log.warn({ err: errorSummary(error) }, 'runner registration failed');
    await store.transition(record.id, [from], 'failed', deps.clock.now(), {
      error: `runner registration failed: ${errorSummary(error)}`,
    });
    return undefined;
  }
}
