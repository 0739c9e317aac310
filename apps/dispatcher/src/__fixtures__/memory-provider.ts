import {
  DEFAULT_CHOICE,
  type Instance,
  type InstanceSpec,
  type Provider,
  ProviderError,
  type ProviderErrorClass,
} from '@forgejo-fleet/providers';

/** An in-memory provider that records every call and can be told to fail. */
export function memoryProvider(name = 'local') {
  const instances = new Map<string, Instance & { userData: string; key: string }>();
  const failures: ProviderErrorClass[] = [];
  const calls: { verb: string; arg: string }[] = [];
  let next = 1;
  const provider: Provider = {
    name,
    kind: 'memory',
    choices: [DEFAULT_CHOICE],
    async create(spec: InstanceSpec) {
      calls.push({ verb: 'create', arg: spec.name });
      const failure = failures.shift();
      if (failure) throw new ProviderError(name, failure, `injected ${failure}`);
      const existing = [...instances.values()].find((i) => i.key === spec.idempotencyKey);
      if (existing) return existing;
      const instance = {
        id: `i-${next++}`,
        name: spec.name,
        state: 'running' as const,
        tags: { ...spec.tags },
        userData: spec.userData,
        key: spec.idempotencyKey,
      };
      instances.set(instance.id, instance);
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
      failures.push(...classes);
    },
    /** Simulates the VM powering off after its job. */
    powerOff(id: string) {
      const instance = instances.get(id);
      if (instance) instances.set(id, { ...instance, state: 'stopped' });
    },
  };
}
