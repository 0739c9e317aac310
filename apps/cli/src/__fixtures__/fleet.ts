import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { DEFAULT_CHOICE, type Instance, type Provider, ProviderError } from '@forgejo-fleet/providers';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import type { ApiIo } from '../api-flags.js';

export const OPS_TOKEN = 'cli-test-ops-token-0123456789';
export const ALICE_TOKEN = 'cli-test-alice-token-0123456789';

/** A cloud in memory: VMs are made at once and stay until deleted; `failNext` refuses creates. */
function memoryCloud(name: string): Provider & { instances: Map<string, Instance>; failNext: number } {
  const instances = new Map<string, Instance>();
  let next = 1;
  return {
    name,
    kind: 'memory',
    choices: [DEFAULT_CHOICE],
    instances,
    failNext: 0,
    async create(spec) {
      if (this.failNext > 0) {
        this.failNext--;
        throw new ProviderError(name, 'fatal', 'injected failure');
      }
      const existing = [...instances.values()].find((i) => i.name === spec.name);
      if (existing) return existing;
      const instance: Instance = {
        id: `vm-${next++}`,
        name: spec.name,
        state: 'running',
        tags: { ...spec.tags },
      };
      instances.set(instance.id, instance);
      return instance;
    },
    async delete(id) {
      return instances.delete(id) ? 'deleted' : 'not-found';
    },
    async get(id) {
      return instances.get(id);
    },
    async list(tags) {
      return [...instances.values()].filter((i) => Object.entries(tags).every(([k, v]) => i.tags[k] === v));
    },
  };
}

export interface TestFleet {
  readonly url: string;
  readonly dispatcher: RunningDispatcher;
  readonly forgejo: RunningFakeForgejo;
  readonly cloud: ReturnType<typeof memoryCloud>;
  /** Files holding the `*` client's and alice's (org:acme only) tokens. */
  readonly opsTokenFile: string;
  readonly aliceTokenFile: string;
  close(): Promise<void>;
}

/**
 * A real dispatcher on 127.0.0.1 port 0 with the fake Forgejo (orgs acme and beta) and a memory
 * cloud: route `small` (labels linux) and route `tiny` (labels tiny, max_vms 1, so a second
 * dispatch is refused). The reconciler is held off so states change only when a test acts.
 * `budgets` adds daily caps: 600 VM-minutes on route small, 120 on scope org:acme; `now` is the
 * dispatcher's clock (VM time is counted by it).
 */
export async function startTestFleet(
  options: { readonly budgets?: boolean; readonly now?: () => number } = {},
): Promise<TestFleet> {
  const work = mkdtempSync(join(tmpdir(), 'fleet-cli-api-'));
  const opsTokenFile = join(work, 'ops-token');
  const aliceTokenFile = join(work, 'alice-token');
  writeFileSync(opsTokenFile, `${OPS_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(aliceTokenFile, `${ALICE_TOKEN}\n`, { mode: 0o600 });
  const forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addOrg({ name: 'beta', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  const token = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });
  const config = parseDispatcherConfig(
    `
fleet_id: cli-test
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${join(work, 'd.db')}, decision_log: ${join(work, 'decisions.jsonl')} }
forgejo: { api_url: ${forgejo.url}, instance_url: ${forgejo.url}, token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud]${options.budgets ? ', limits: { vm_minutes_per_day: 600 }' : ''} }
  - { name: tiny, labels: [tiny], providers: [cloud], limits: { max_vms: 1 } }
scopes:
  org:acme: {${options.budgets ? ' limits: { vm_minutes_per_day: 120 } ' : ''}}
  org:beta: {}
clients:
  - { name: ops, token_file: ${opsTokenFile}, scopes: ['*'] }
  - { name: alice, token_file: ${aliceTokenFile}, scopes: ['org:acme'] }
`,
    { file: 'cli-test.yaml', env: { FT: token } },
  );
  const cloud = memoryCloud('cloud');
  const dispatcher = await startDispatcher({
    config,
    log: createLogger('silent'),
    providerFor: () => cloud,
    reconcileIntervalMs: 3_600_000,
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    url: dispatcher.url,
    dispatcher,
    forgejo,
    cloud,
    opsTokenFile,
    aliceTokenFile,
    async close() {
      await dispatcher.close();
      await forgejo.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** An ApiIo that records stdout and stderr; `env` and the rest as given. */
export function recordingIo(extra: Partial<ApiIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: ApiIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: {},
    ...extra,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

/**
 * Runs one `forgejo-fleet` invocation against the fleet as the `*` client (`ops`) or alice, who
 * sees org:acme only; the dispatcher and token come from the environment, as an operator sets them.
 */
export async function cli(
  fleet: TestFleet,
  argv: readonly string[],
  options: { as?: 'ops' | 'alice'; io?: Partial<ApiIo> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { runCli } = await import('../cli.js');
  const recorded = recordingIo({
    env: {
      FORGEJO_FLEET_URL: fleet.url,
      FORGEJO_FLEET_TOKEN_FILE: options.as === 'alice' ? fleet.aliceTokenFile : fleet.opsTokenFile,
    },
    ...options.io,
  });
  const code = await runCli(argv, recorded.io);
  return { code, stdout: recorded.stdout(), stderr: recorded.stderr() };
}
