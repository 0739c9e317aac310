/**
 * An in-process "cloud" for end-to-end tests: every VM boots instantly and runs the fake
 * forgejo-runner (testkit) in this process with the one-job flags from its rendered user-data, then
 * powers off, as the real bootstrap script would. No processes, no files.
 */
import { DEFAULT_CHOICE, type Instance, type InstanceSpec, type Provider } from '@forgejo-fleet/providers';
import { runFakeRunner } from '@forgejo-fleet/testkit';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const CloudConfig = z.object({
  write_files: z.array(
    z.object({ permissions: z.union([z.string(), z.number()]).optional(), content: z.string().optional() }),
  ),
});

/** The runner argv and token the bootstrap would use (flags of `run_runner()`). */
export function bootPlan(userData: string): { argv: string[]; token: string } {
  const files = CloudConfig.parse(parseYaml(userData, { version: '1.1' })).write_files;
  const token = files.find((f) => String(f.permissions) === '0600')?.content?.trim();
  const script = files.find((f) => f.content?.includes('run_runner()'))?.content;
  if (!token || !script) throw new Error('user-data starts no runner');
  const argv = ['one-job', '--token-url', 'file:///run/token', '--fetch-interval', '100ms', '--wait'];
  for (const [, flag, value] of script.matchAll(/--(url|uuid|label|handle) '([^']*)'/g)) {
    argv.push(`--${flag}`, value ?? '');
  }
  return { argv, token };
}

export function inProcessVms(opts: { jobMs?: number } = {}) {
  const instances = new Map<string, Instance & { key: string; stop: AbortController }>();
  const running = new Set<Promise<unknown>>();
  let next = 1;
  let created = 0;
  const errors: string[] = [];

  function setState(id: string, state: Instance['state']): void {
    const instance = instances.get(id);
    if (instance) instances.set(id, { ...instance, state });
  }

  const provider: Provider = {
    name: 'vm',
    kind: 'memory',
    choices: [DEFAULT_CHOICE],
    async create(spec: InstanceSpec) {
      const existing = [...instances.values()].find((i) => i.key === spec.idempotencyKey);
      if (existing) return existing;
      const plan = bootPlan(spec.userData);
      const id = `vm-${next++}`;
      const stop = new AbortController();
      const instance = {
        id,
        name: spec.name,
        state: 'running' as const,
        tags: { ...spec.tags },
        key: spec.idempotencyKey,
        stop,
      };
      instances.set(id, instance);
      created++;
      const run = runFakeRunner(plan.argv, {
        readFile: async () => plan.token,
        stderr: { write: (line: string) => errors.push(`${id}: ${line.trim()}`) },
        env: { FAKE_RUNNER_JOB_MS: String(opts.jobMs ?? 20) },
        signal: stop.signal,
      }).finally(() => {
        setState(id, 'stopped');
        running.delete(run);
      });
      running.add(run);
      return instance;
    },
    async delete(id) {
      const instance = instances.get(id);
      if (!instance) return 'not-found';
      instance.stop.abort();
      instances.delete(id);
      return 'deleted';
    },
    async get(id) {
      return instances.get(id);
    },
    async list(tags) {
      return [...instances.values()].filter((i) => Object.entries(tags).every(([k, v]) => i.tags[k] === v));
    },
  };

  return {
    provider,
    instances,
    created: () => created,
    /** What the runners wrote to stderr, prefixed with their VM id. */
    errors,
    /** Stops every runner still going (end of test). */
    async shutdown(): Promise<void> {
      for (const instance of instances.values()) instance.stop.abort();
      await Promise.all([...running]);
    },
  };
}
