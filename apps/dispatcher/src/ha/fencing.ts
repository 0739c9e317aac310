import type { Provider } from '@forgejo-fleet/providers';
import type { FenceOptions, LeaseFence, Store, TransitionOptions } from '@forgejo-fleet/store';
import { type LeaderElection, LeadershipLostError } from './leader.js';

/**
 * The store as leader work sees it: every write made in a leader term's async context carries
 * that term's fence, so the store refuses it (FencedWriteError, nothing written) once another
 * replica took the lease or the lease ran out. Writes outside leader work (the API, an agent's
 * poll) go through unfenced, as on every replica.
 */
export function fencedStore(store: Store, fence: () => LeaseFence | undefined): Store {
  function withFence<T extends FenceOptions>(options: T | undefined): T | undefined {
    const current = fence();
    return current === undefined ? options : ({ ...options, fence: current } as T);
  }
  const writes: Partial<Store> = {
    transition: (id, from, to, at, patch, options?: TransitionOptions) =>
      store.transition(id, from, to, at, patch, withFence(options)),
    appendDecision: (decision, options) => store.appendDecision(decision, withFence(options)),
    insertWarm: (vm, options) => store.insertWarm(vm, withFence(options)),
    updateWarm: (id, from, to, at, patch, options) =>
      store.updateWarm(id, from, to, at, patch, withFence(options)),
    claimWarm: (route, dispatchId, at, exclude, options) =>
      store.claimWarm(route, dispatchId, at, exclude, withFence(options)),
    prune: (before, limit, options) => store.prune(before, limit, withFence(options)),
  };
  // A Proxy so every other member (reads, the API's inserts, heartbeats, ones added later) is the
  // store's own, called on the store.
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(writes, key)) return writes[key as keyof Store];
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Provider calls that destroy or overwrite a VM: the ones a stale leader must not make. */
const DESTRUCTIVE = new Set<string | symbol>(['delete', 'deleteMany', 'rebuild']);

/**
 * Providers whose deletes (and rebuilds) check the leader's lease first when leader work makes
 * them (LeaderElection.mayDelete); refused, they throw LeadershipLostError and the caller retries
 * on its next pass, as after any failed delete. The same provider always comes back as the same
 * wrapper: the reconciler keys what it listed by provider object.
 */
export function guardDeletes(
  providerFor: (name: string, scopeKey: string) => Provider,
  leader: Pick<LeaderElection, 'mayDelete'>,
): (name: string, scopeKey: string) => Provider {
  const guarded = new WeakMap<Provider, Provider>();
  return (name, scopeKey) => {
    const provider = providerFor(name, scopeKey);
    let wrapper = guarded.get(provider);
    if (wrapper === undefined) {
      // A Proxy rather than a copy: providers are class instances with optional methods, and
      // every other member must behave exactly as the provider's own.
      wrapper = new Proxy(provider, {
        get(target, key) {
          const value: unknown = Reflect.get(target, key);
          if (typeof value !== 'function') return value;
          // Called on the provider itself: its methods may use private fields.
          if (!DESTRUCTIVE.has(key)) return value.bind(target);
          return (...args: unknown[]) => {
            const verdict = leader.mayDelete();
            if (!verdict.ok) return Promise.reject(new LeadershipLostError(verdict.reason));
            return Reflect.apply(value, target, args);
          };
        },
      });
      guarded.set(provider, wrapper);
    }
    return wrapper;
  };
}
