import {
  DEFAULT_CHOICE,
  type Instance,
  type InstanceSpec,
  type MachineChoice,
  type Provider,
  ProviderError,
  type ProviderErrorClass,
} from '@forgejo-fleet/providers';

type Failure = { class: ProviderErrorClass; retryAfterMs?: number; afterCreate?: boolean };

/**
 * An in-memory "cloud" that records every call and can be told to fail: the next creates, the
 * creates of one machine choice, or a create whose answer is lost after the VM was made.
 */
export function memoryProvider(name = 'local', choices: readonly MachineChoice[] = [DEFAULT_CHOICE]) {
  const instances = new Map<string, Instance & { userData: string; key: string }>();
  const failures: Failure[] = [];
  const byChoice = new Map<string, ProviderErrorClass>();
  const calls: { verb: string; arg: string; choice?: string }[] = [];
  let next = 1;
  const provider: Provider = {
    name,
    kind: 'memory',
    choices,
    async create(spec: InstanceSpec) {
      const choice = spec.choice ?? choices[0] ?? DEFAULT_CHOICE;
      calls.push({ verb: 'create', arg: spec.name, choice: choice.key });
      const failure = failures.shift();
      const blocked = byChoice.get(choice.key);
      if (blocked) throw new ProviderError(name, blocked, `injected ${blocked} on ${choice.key}`);
      if (failure && !failure.afterCreate) {
        throw new ProviderError(name, failure.class, `injected ${failure.class}`, {
          ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
        });
      }
      const key = `${spec.idempotencyKey}/${choice.key}`;
      const existing = [...instances.values()].find((i) => i.key === key);
      if (existing) return existing;
      const instance = {
        id: `i-${next++}`,
        name: spec.name,
        state: 'running' as const,
        tags: { ...spec.tags },
        machine: choice.key,
        userData: spec.userData,
        key,
      };
      instances.set(instance.id, instance);
      if (failure?.afterCreate) throw new ProviderError(name, failure.class, 'injected: the answer was lost');
      return instance;
    },
    async delete(id: string) {
      calls.push({ verb: 'delete', arg: id });
      return instances.delete(id) ? 'deleted' : 'not-found';
    },
    async get(id: string) {
      calls.push({ verb: 'get', arg: id });
      return instances.get(id);
    },
    async list(tags: Readonly<Record<string, string>>) {
      calls.push({ verb: 'list', arg: JSON.stringify(tags) });
      return [...instances.values()].filter((i) => Object.entries(tags).every(([k, v]) => i.tags[k] === v));
    },
  };
  return {
    provider,
    instances,
    calls,
    failNext(...classes: ProviderErrorClass[]) {
      failures.push(...classes.map((c) => ({ class: c })));
    },
    /** The next create fails with `class` and a Retry-After. */
    failNextWithRetryAfter(errorClass: ProviderErrorClass, retryAfterMs: number) {
      failures.push({ class: errorClass, retryAfterMs });
    },
    /** The next create makes the VM, then its answer is lost (a timeout, a reset connection). */
    loseNextAnswer() {
      failures.push({ class: 'transient', afterCreate: true });
    },
    /** Every create on this choice fails with `class` until `clearChoice`. */
    failChoice(choice: string, errorClass: ProviderErrorClass) {
      byChoice.set(choice, errorClass);
    },
    clearChoice(choice: string) {
      byChoice.delete(choice);
    },
    /** Simulates the VM powering off after its job. */
    powerOff(id: string) {
      const instance = instances.get(id);
      if (instance) instances.set(id, { ...instance, state: 'stopped' });
    },
  };
}
