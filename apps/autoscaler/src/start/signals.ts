import type { Poller } from '../poll/poller.js';
import { scopesForRepo } from '../scopes/owning-scope.js';
import type { ScopeState } from '../scopes/scope-state.js';
import type { WebhookSignal } from '../webhook/receiver.js';

/**
 * What a verified webhook delivery sets off: a poll of the scope that owns the repository (a
 * healthy one first; `push_like` opens its fast window) and, for a finished run, a reconcile ask.
 * False when no configured scope owns the repository.
 */
export function signalRouter(deps: {
  readonly scopes: readonly ScopeState[];
  readonly pollers: ReadonlyMap<string, Poller>;
  readonly requestReconcile: (reason: string) => void;
}): (delivery: WebhookSignal) => boolean {
  return (delivery) => {
    const candidates = scopesForRepo(deps.scopes, delivery.repo.owner, delivery.repo.name);
    const target = candidates.find((s) => s.health.status === 'ok') ?? candidates[0];
    if (!target) return false;
    deps.pollers.get(target.key)?.pollNow({ fast: delivery.kind === 'push_like' });
    if (delivery.kind === 'run_finished') {
      deps.requestReconcile(`${delivery.event} in ${delivery.repo.owner}/${delivery.repo.name}`);
    }
    return true;
  };
}
