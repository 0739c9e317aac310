import { abortError } from '@forgejo-fleet/runtime';
import type { CallTimeouts, CallVerb } from './config-schema.js';
import type { CallOptions, Instance, InstanceSpec, Provider } from './provider.js';
import { ProviderError } from './provider.js';

/**
 * Starts a one-shot timer and returns its cancel function. Injected so tests can drive deadlines;
 * the default is `setTimeout`.
 */
export type DeadlineTimer = (ms: number, onExpire: () => void) => () => void;

export const realTimer: DeadlineTimer = (ms, onExpire) => {
  const timer = setTimeout(onExpire, ms);
  return () => clearTimeout(timer);
};

/**
 * A rebuild waits for the cloud's action (Hetzner's `rebuild`: up to 5 minutes) and makes a few
 * calls around it, so it gets a deadline of its own, above that wait: cutting it at the `create`
 * deadline would abandon rebuilds that are about to finish.
 */
export const REBUILD_DEADLINE_MS = 7 * 60_000;

/** The abort reason a provider's call sees when its deadline passes. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

function seconds(ms: number): string {
  return String(Number((ms / 1_000).toFixed(3)));
}

/**
 * Every call of `provider` gets its verb's deadline from `timeouts`: the signal handed to the
 * provider aborts at the deadline (or with the caller's signal), and the call settles at the
 * deadline even when the provider ignores its signal, as a `transient` ProviderError whose message
 * says "deadline of N s exceeded". A create cut off this way is an ambiguous answer: a VM may
 * exist, so callers look it up by its tags before trying anything else. The caller's own abort
 * still rejects with the provider's AbortError.
 */
export function withDeadlines(
  provider: Provider,
  timeouts: CallTimeouts,
  timer: DeadlineTimer = realTimer,
): Provider {
  function bounded<T>(
    verb: CallVerb | 'rebuild',
    what: string,
    options: CallOptions | undefined,
    call: (options: CallOptions) => Promise<T>,
  ): Promise<T> {
    const caller = options?.signal;
    // An already aborted caller gets the provider's own AbortError, without a timer.
    if (caller?.aborted) return call({ signal: caller });
    const ms = verb === 'rebuild' ? REBUILD_DEADLINE_MS : timeouts[verb];
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      // The caller's abort settles at once too, even when the provider ignores its signal.
      const onCallerAbort = () => {
        reject(abortError(caller as AbortSignal));
        controller.abort(caller?.reason);
      };
      caller?.addEventListener('abort', onCallerAbort, { once: true });
      const cancel = timer(ms, () => {
        const lost =
          verb === 'create'
            ? '; the answer is lost, a VM may exist'
            : verb === 'rebuild'
              ? '; the rebuild may still run'
              : '';
        // Settle first: whatever the provider throws once aborted must not replace this error.
        reject(
          new ProviderError(
            provider.name,
            'transient',
            `${what}: deadline of ${seconds(ms)} s exceeded${lost}`,
          ),
        );
        controller.abort(new DeadlineExceeded(`${verb} deadline of ${ms} ms exceeded`));
      });
      let work: Promise<T>;
      try {
        work = call({ signal: controller.signal });
      } catch (error) {
        work = Promise.reject(error);
      }
      work.then(resolve, reject).finally(() => {
        cancel();
        caller?.removeEventListener('abort', onCallerAbort);
      });
    });
  }

  const wrapped: Provider = {
    name: provider.name,
    kind: provider.kind,
    choices: provider.choices,
    create: (spec: InstanceSpec, options?: CallOptions): Promise<Instance> =>
      bounded('create', 'create', options, (o) => provider.create(spec, o)),
    delete: (id: string, options?: CallOptions) =>
      bounded('delete', `delete ${id}`, options, (o) => provider.delete(id, o)),
    get: (id: string, options?: CallOptions) =>
      bounded('get', `get ${id}`, options, (o) => provider.get(id, o)),
    list: (tags: Readonly<Record<string, string>>, options?: CallOptions) =>
      bounded('list', 'list', options, (o) => provider.list(tags, o)),
  };
  const { deleteMany } = provider;
  if (deleteMany !== undefined) {
    wrapped.deleteMany = (ids: readonly string[], options?: CallOptions) =>
      bounded('delete', `delete ${ids.length} instances`, options, (o) => deleteMany.call(provider, ids, o));
  }
  const { rebuild } = provider;
  if (rebuild !== undefined) {
    wrapped.rebuild = (id: string, spec: InstanceSpec, options?: CallOptions) =>
      bounded('rebuild', `rebuild ${id}`, options, (o) => rebuild.call(provider, id, spec, o));
  }
  return wrapped;
}
