/**
 * The chaos "cloud": providers whose VMs boot in virtual time and run the testkit's fake runner
 * in-process against the fake Forgejo (`one-job --handle --wait`, then power off), and whose calls
 * fail on a seeded schedule: capacity errors, capacity outages, timeouts, ambiguous creates (the VM
 * is made but the answer is lost), failed lists and deletes. It also checks the first invariant on
 * every create: never two live VMs for one job handle.
 */
import {
  type Instance,
  type InstanceSpec,
  type MachineChoice,
  type Provider,
  ProviderError,
} from '@forgejo-fleet/providers';
import { type FakeForgejo, runFakeRunner } from '@forgejo-fleet/testkit';
import { bootPlan } from '../autoscaler-vms.js';
import type { Random } from './random.js';
import type { VirtualClock } from './virtual-clock.js';

/** Fault probabilities per provider call; the driver switches them off for the final phase. */
export interface CloudFaults {
  capacity: number;
  timeout: number;
  ambiguous: number;
  listError: number;
  deleteError: number;
}

export const CLOUD_FAULTS: CloudFaults = {
  capacity: 0.05,
  timeout: 0.02,
  ambiguous: 0.03,
  listError: 0.03,
  deleteError: 0.03,
};

export const NO_CLOUD_FAULTS: CloudFaults = {
  capacity: 0,
  timeout: 0,
  ambiguous: 0,
  listError: 0,
  deleteError: 0,
};

type Vm = Instance & { provider: string; key: string; stop: AbortController };

export interface CloudOptions {
  readonly forgejo: FakeForgejo;
  readonly time: VirtualClock;
  readonly random: Random;
  /** Counts one injected fault of `kind`. */
  readonly fault: (kind: string) => void;
  /** Called before a create reaches the cloud: the driver may cancel the job there. */
  readonly beforeCreate?: (handle: string | undefined) => void;
}

export function chaosCloud(options: CloudOptions) {
  const { time, random } = options;
  const vms = new Map<string, Vm>();
  const running = new Set<Promise<unknown>>();
  const duplicates: { handle: string; vms: string[]; at: number }[] = [];
  const calls: Record<string, number> = {};
  const runnerErrors: string[] = [];
  let faults: CloudFaults = { ...CLOUD_FAULTS };
  let outage = false;
  let next = 1;
  let created = 0;

  function count(verb: string): void {
    calls[verb] = (calls[verb] ?? 0) + 1;
  }

  function live(vm: Instance): boolean {
    return vm.state === 'pending' || vm.state === 'running';
  }

  /** Live VMs per handle; more than one is a duplicate (recorded once per handle and moment). */
  function checkHandle(handle: string | undefined): void {
    if (handle === undefined) return;
    const same = [...vms.values()].filter((v) => v.tags['forgejo-fleet-handle'] === handle && live(v));
    if (same.length > 1)
      recordDuplicate(
        handle,
        same.map((v) => v.id),
      );
  }

  function recordDuplicate(handle: string, ids: string[]): void {
    if (!duplicates.some((d) => d.handle === handle)) duplicates.push({ handle, vms: ids, at: time.now() });
  }

  function boot(vm: Vm, userData: string): void {
    const plan = bootPlan(userData);
    // A slower fetch interval than the e2e VMs: virtual time, and fewer timers per step.
    const argv = plan.argv.map((arg, i) => (plan.argv[i - 1] === '--fetch-interval' ? '5s' : arg));
    const jobMs = random.int(5, 120) * 1000;
    const bootMs = random.int(2, 30) * 1000;
    const run = (async () => {
      await time.clock.sleep(bootMs, vm.stop.signal);
      if (vm.stop.signal.aborted) return;
      await runFakeRunner(argv, {
        fetch: (url, init) => Promise.resolve(options.forgejo.app.request(String(url), init)),
        sleep: (ms, signal) => time.clock.sleep(ms, signal),
        readFile: async () => plan.token,
        stderr: {
          write: (line: string) => {
            if (runnerErrors.length < 50) runnerErrors.push(`${vm.id}: ${line.trim()}`);
          },
        },
        env: { FAKE_RUNNER_JOB_MS: String(jobMs) },
        signal: vm.stop.signal,
      });
    })().finally(() => {
      const current = vms.get(vm.id);
      // One job, then the VM powers off (the bootstrap's last step).
      if (current) vms.set(vm.id, { ...current, state: 'stopped' });
      running.delete(run);
    });
    running.add(run);
  }

  function provider(name: string, choices: readonly MachineChoice[]): Provider {
    return {
      name,
      kind: 'chaos',
      choices,
      async create(spec: InstanceSpec) {
        count('create');
        const choice = spec.choice ?? choices[0];
        if (choice === undefined) throw new Error('no choice');
        options.beforeCreate?.(spec.tags['forgejo-fleet-handle']);
        if (outage) {
          options.fault('provider_capacity_outage');
          throw new ProviderError(name, 'capacity', `capacity outage on ${choice.key}`);
        }
        if (random.chance(faults.capacity)) {
          options.fault('provider_capacity');
          throw new ProviderError(name, 'capacity', `no capacity on ${choice.key}`);
        }
        if (random.chance(faults.timeout)) {
          options.fault('provider_timeout');
          await time.clock.sleep(random.int(5, 60) * 1000);
          throw new ProviderError(name, 'transient', 'create timed out');
        }
        const key = `${spec.idempotencyKey}/${choice.key}`;
        const existing = [...vms.values()].find((v) => v.key === key);
        if (existing) return existing;
        const vm: Vm = {
          id: `${name}-${next++}`,
          name: spec.name,
          state: 'running',
          tags: { ...spec.tags },
          machine: choice.key,
          createdAt: time.now(),
          provider: name,
          key,
          stop: new AbortController(),
        };
        vms.set(vm.id, vm);
        created++;
        checkHandle(spec.tags['forgejo-fleet-handle']);
        boot(vm, spec.userData);
        if (random.chance(faults.ambiguous)) {
          options.fault('provider_ambiguous_create');
          await time.clock.sleep(random.int(1, 30) * 1000);
          throw new ProviderError(name, 'transient', 'create answer lost (connection reset)');
        }
        return vm;
      },
      async delete(id: string) {
        count('delete');
        if (random.chance(faults.deleteError)) {
          options.fault('provider_delete_error');
          throw new ProviderError(name, 'transient', 'delete failed (503)');
        }
        const vm = vms.get(id);
        if (vm === undefined || vm.provider !== name) return 'not-found';
        vm.stop.abort();
        vms.delete(id);
        return 'deleted';
      },
      async get(id: string) {
        count('get');
        const vm = vms.get(id);
        return vm?.provider === name ? vm : undefined;
      },
      async list(tags: Readonly<Record<string, string>>) {
        count('list');
        if (random.chance(faults.listError)) {
          options.fault('provider_list_error');
          throw new ProviderError(name, 'transient', 'list failed (503)');
        }
        return [...vms.values()].filter(
          (v) => v.provider === name && Object.entries(tags).every(([k, value]) => v.tags[k] === value),
        );
      },
    };
  }

  return {
    provider,
    vms,
    duplicates,
    calls,
    runnerErrors,
    created: () => created,
    setFaults(next: CloudFaults): void {
      faults = { ...next };
    },
    setOutage(on: boolean): void {
      outage = on;
    },
    /** Every live VM per handle right now, for the continuous check. */
    checkAll(): void {
      const byHandle = new Map<string, string[]>();
      for (const vm of vms.values()) {
        const handle = vm.tags['forgejo-fleet-handle'];
        if (handle === undefined || !live(vm)) continue;
        byHandle.set(handle, [...(byHandle.get(handle) ?? []), vm.id]);
      }
      for (const [handle, ids] of byHandle) {
        if (ids.length > 1) recordDuplicate(handle, ids);
      }
    },
    async shutdown(): Promise<void> {
      for (const vm of vms.values()) vm.stop.abort();
      await Promise.all([...running]);
    },
  };
}

export type ChaosCloud = ReturnType<typeof chaosCloud>;
