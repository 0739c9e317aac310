import { parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { ServiceDeps } from './deps.js';
import { errorClass, errorSummary } from './errors.js';

type ReleaseDeps = Pick<ServiceDeps, 'forgejoFor' | 'providerFor' | 'decisions' | 'observer' | 'clock'>;

/**
 * Deletes the VM and the runner registration a dispatch owns. Both deletes are idempotent
 * (gone is success), so this is safe to call again after a crash or a lost answer.
 */
export async function releaseResources(
  deps: ReleaseDeps,
  record: Pick<DispatchRecord, 'id' | 'scope' | 'route' | 'provider' | 'instance_id' | 'runner'>,
  log: Logger,
  reason = 'dispatch ended',
): Promise<{ ok: boolean }> {
  let ok = true;
  if (record.provider !== null && record.instance_id !== null) {
    const started = deps.clock.now();
    try {
      const result = await deps.providerFor(record.provider, record.scope).delete(record.instance_id);
      deps.observer.providerCall(record.provider, 'delete', 'ok', deps.clock.now() - started);
      if (result === 'deleted') {
        await deps.decisions.record({
          kind: 'delete',
          reason: `vm ${record.instance_id} deleted: ${reason}`,
          dispatch_id: record.id,
          route: record.route,
          scope: record.scope,
          provider: record.provider,
        });
      }
    } catch (error) {
      ok = false;
      deps.observer.providerCall(record.provider, 'delete', errorClass(error), deps.clock.now() - started);
      log.warn(
        { dispatchId: record.id, err: errorSummary(error) },
        'vm delete failed; the reconciler retries',
      );
    }
  }
  if (record.runner !== null) {
    try {
      await deps.forgejoFor(record.scope).deleteRunner(parseScope(record.scope), record.runner.id);
    } catch (error) {
      ok = false;
      deps.observer.error('forgejo');
      log.warn(
        { dispatchId: record.id, err: errorSummary(error) },
        'runner registration delete failed; the reconciler retries',
      );
    }
  }
  return { ok };
}
