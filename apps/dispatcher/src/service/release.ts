import { parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { ServiceDeps } from './deps.js';

/**
 * Deletes the VM and the runner registration a dispatch owns. Both deletes are idempotent
 * (gone is success), so this is safe to call again after a crash or a lost answer.
 */
export async function releaseResources(
  deps: Pick<ServiceDeps, 'forgejoFor' | 'providerFor'>,
  record: Pick<DispatchRecord, 'id' | 'scope' | 'provider' | 'instance_id' | 'runner'>,
  log: Logger,
): Promise<{ ok: boolean }> {
  let ok = true;
  if (record.provider !== null && record.instance_id !== null) {
    try {
      await deps.providerFor(record.provider, record.scope).delete(record.instance_id);
    } catch (error) {
      ok = false;
      log.warn(
        { dispatchId: record.id, err: (error as Error).message },
        'vm delete failed; the reconciler retries',
      );
    }
  }
  if (record.runner !== null) {
    try {
      await deps.forgejoFor(record.scope).deleteRunner(parseScope(record.scope), record.runner.id);
    } catch (error) {
      ok = false;
      log.warn(
        { dispatchId: record.id, err: (error as Error).message },
        'runner registration delete failed; the reconciler retries',
      );
    }
  }
  return { ok };
}
