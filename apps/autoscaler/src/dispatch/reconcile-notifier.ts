import type { Clock } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import type { DispatcherClient } from './client.js';

/**
 * Tells the dispatcher a run finished (`POST /v1/reconcile`) so it cleans up sooner. A burst of
 * events becomes at most one request in flight plus one after it. A dispatcher without the
 * endpoint (404), or one that refuses it to this client (403: only `*` clients may ask), is left
 * alone for `quietMs`, noted once.
 */
export function createReconcileNotifier(deps: {
  dispatcher: DispatcherClient;
  clock: Clock;
  log: Logger;
  quietMs: number;
  signal: AbortSignal;
}) {
  let running: Promise<void> | undefined;
  let pending: string | undefined;
  let unsupportedUntil = 0;
  let notedUnsupported = false;
  let notedForbidden = false;

  async function loop(first: string): Promise<void> {
    let reason: string | undefined = first;
    while (reason !== undefined && !deps.signal.aborted) {
      const outcome = await deps.dispatcher.reconcile(reason, deps.signal);
      if (outcome === 'unsupported' || outcome === 'forbidden') {
        unsupportedUntil = deps.clock.now() + deps.quietMs;
        if (outcome === 'unsupported' && !notedUnsupported) {
          notedUnsupported = true;
          deps.log.debug('the dispatcher has no POST /v1/reconcile; relying on its own reconcile interval');
        }
        if (outcome === 'forbidden' && !notedForbidden) {
          notedForbidden = true;
          deps.log.warn(
            "the dispatcher refuses POST /v1/reconcile to this client (it needs scopes ['*']); relying on its own reconcile interval",
          );
        }
        pending = undefined;
        return;
      }
      reason = pending;
      pending = undefined;
    }
  }

  return {
    request(reason: string): void {
      if (deps.signal.aborted || deps.clock.now() < unsupportedUntil) return;
      if (running) {
        pending = reason;
        return;
      }
      running = loop(reason).finally(() => {
        running = undefined;
      });
    },
    async idle(): Promise<void> {
      await running;
    },
  };
}
