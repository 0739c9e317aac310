/**
 * The chaos driver: the fake Forgejo, the real dispatcher and autoscaler (crashable, restarted on
 * the same store file), the chaos cloud and the webhook relay, on one virtual clock. Three phases:
 *   1. chaos: jobs arrive; Forgejo, provider and webhook faults, capacity outages, cancellations at
 *      every phase and crash-restarts of both services follow a seeded schedule;
 *   2. recovery: every fault stops ("capacity returns"); every job still waiting must get a VM, run
 *      and finish;
 *   3. cleanup: nothing of ours may remain: no VM, no runner registration.
 * "Never two live VMs for one handle" is checked on every create and after every step.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { MachineChoice, Provider } from '@forgejo-fleet/providers';
import type { FakeJob } from '@forgejo-fleet/testkit';
import { freePort } from '../autoscaler-net.js';
import { CLOUD_FAULTS, chaosCloud, NO_CLOUD_FAULTS } from './cloud.js';
import type { CrashPoint, Life } from './crashable.js';
import {
  type AutoscalerProcess,
  type DispatcherProcess,
  killAutoscaler,
  startAutoscalerProcess,
  startDispatcherProcess,
} from './processes.js';
import { seededRandom } from './random.js';
import { RELAY_FAULTS, startRelay } from './relay.js';
import { virtualClock } from './virtual-clock.js';
import {
  autoscalerConfig,
  dispatcherConfig,
  FLEET_ID,
  ORPHAN_GRACE_MS,
  RECONCILE_MS,
  REPOS,
  seedForgejo,
} from './world.js';

export interface ChaosOptions {
  readonly seed: number;
  readonly jobs: number;
  /** Mean arrivals per virtual second. */
  readonly jobsPerSecond?: number;
  /** Stop starting new jobs after this much real time (the run stays bounded). */
  readonly maxWallMs?: number;
  readonly progress?: (line: string) => void;
}

/** Per-step chances of the driver's own faults (the cloud and relay hold theirs). */
export const DRIVER_FAULTS = {
  forgejoFault: 0.15,
  outageStart: 0.004,
  cancel: 0.3,
  /** Per call through a process's wrappers, once its minimum time between crashes has passed. */
  dispatcherCrash: 0.01,
  autoscalerCrash: 0.02,
  /** Right before a runner registration or a create. */
  cancelInFlight: 0.01,
} as const;

const STEP_MS = 1_000;
const RECOVERY_LIMIT_MS = 30 * 60_000;
const CLEANUP_LIMIT_MS = 20 * 60_000;
const FORGEJO_PATHS = [
  /^\/api\/v1\/.*\/actions\/runners\/jobs$/,
  /^\/api\/v1\/.*\/actions\/runners$/,
  /^\/api\/v1\/.*\/actions\/runners\/\d+$/,
  /^\/api\/v1\/.*\/hooks/,
];
const CHOICES: Record<string, MachineChoice[]> = {
  'cloud-a': [
    { key: 'small@a1', machine: 'small', location: 'a1' },
    { key: 'small@a2', machine: 'small', location: 'a2' },
  ],
  'cloud-b': [{ key: 'small@b1', machine: 'small', location: 'b1' }],
};

export interface StuckJob {
  handle: string;
  status: string;
  dispatch: string;
}

export interface Leftover {
  dispatch: string;
  state: string;
  job: string;
  vm: string;
  runner: 'none' | 'deleted' | 'live';
  trail: string;
}

export interface ChaosReport {
  seed: number;
  jobs: { enqueued: number; succeeded: number; failed: number; cancelled: number; stuck: number };
  cancellations: Record<string, number>;
  faults: Record<string, number>;
  restarts: { dispatcher: number; autoscaler: number };
  crashPoints: Record<string, number>;
  duplicates: { handle: string; vms: string[]; at: number }[];
  stuck: StuckJob[];
  leaks: { vms: string[]; registrations: string[] };
  /** Each dispatch still live after cleanup, with its VM and job: what a leak looked like. */
  leftover: Leftover[];
  dispatchStates: Record<string, number>;
  vmsCreated: number;
  providerCalls: Record<string, number>;
  webhooks: { forwarded: number; refused: number };
  virtualSeconds: number;
  wallSeconds: number;
  machine: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const root = seededRandom(options.seed);
  const rng = {
    driver: root.fork(),
    cloud: root.fork(),
    relay: root.fork(),
    autoscaler: root.fork(),
  };
  const time = virtualClock();
  const t0 = time.now();
  let activity = 0;
  const touch = () => {
    activity++;
  };
  const faults: Record<string, number> = {};
  const fault = (kind: string) => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const cancellations: Record<string, number> = {};
  const crashPoints: Record<string, number> = {};
  const restarts = { dispatcher: 0, autoscaler: 0 };
  const say = options.progress ?? (() => undefined);

  const { forgejo, tokens } = await seedForgejo(time.now, touch);
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'fleet-chaos-'));
  const config = dispatcherConfig(forgejo.url, tokens, join(dir, 'dispatcher.db'));
  const jobStatus = new Map<string, FakeJob['status']>();
  let inFlightCancels = true;

  function cancel(handle: string, phase: string): void {
    try {
      forgejo.cancelJob(handle);
      cancellations[phase] = (cancellations[phase] ?? 0) + 1;
    } catch {
      // already gone
    }
  }

  const cloud = chaosCloud({
    forgejo,
    time,
    random: rng.cloud,
    fault(kind) {
      fault(kind);
      touch();
    },
    beforeCreate(handle) {
      touch();
      if (handle !== undefined && inFlightCancels && rng.driver.chance(DRIVER_FAULTS.cancelInFlight)) {
        cancel(handle, 'provisioning (before create)');
      }
    },
  });
  const providers = new Map<string, Provider>(
    Object.entries(CHOICES).map(([name, choices]) => [name, cloud.provider(name, choices)]),
  );

  let crashing = true;
  let dispatcher: DispatcherProcess | undefined;
  let autoscaler: AutoscalerProcess | undefined;
  let dispatcherRestartAt = Number.POSITIVE_INFINITY;
  let autoscalerRestartAt = Number.POSITIVE_INFINITY;
  let nextDispatcherCrash = t0 + 30_000;
  let nextAutoscalerCrash = t0 + 30_000;
  let reconcileWanted = false;
  const dead: DispatcherProcess[] = [];

  const crash: CrashPoint = (life: Life, where: string) => {
    touch();
    if (!crashing || life.dead) return;
    const isDispatcher = life.name.startsWith('dispatcher');
    if (time.now() < (isDispatcher ? nextDispatcherCrash : nextAutoscalerCrash)) return;
    if (!rng.driver.chance(isDispatcher ? DRIVER_FAULTS.dispatcherCrash : DRIVER_FAULTS.autoscalerCrash))
      return;
    life.dead = true;
    const key = `${isDispatcher ? 'dispatcher' : 'autoscaler'} ${where.replace(/\.\w+$/, (m) => m)}`;
    crashPoints[key] = (crashPoints[key] ?? 0) + 1;
    const now = time.now();
    if (isDispatcher) {
      restarts.dispatcher++;
      if (dispatcher) dead.push(dispatcher);
      dispatcherRestartAt = now + rng.driver.int(2, 20) * 1000;
      nextDispatcherCrash = now + rng.driver.int(60, 180) * 1000;
    } else {
      restarts.autoscaler++;
      if (autoscaler) killAutoscaler(autoscaler);
      autoscalerRestartAt = now + rng.driver.int(2, 20) * 1000;
      nextAutoscalerCrash = now + rng.driver.int(60, 180) * 1000;
    }
  };

  const processDeps = {
    time,
    crash,
    activity: touch,
    beforeRegister(dispatchId: string | undefined) {
      const proc = dispatcher;
      if (dispatchId === undefined || !proc || !inFlightCancels) return;
      if (!rng.driver.chance(DRIVER_FAULTS.cancelInFlight)) return;
      void proc.store.get(dispatchId).then((record) => {
        if (record?.handle) cancel(record.handle, 'registering');
      });
    },
  };

  let dispatcherGeneration = 0;
  function bootDispatcher(): void {
    dispatcher = startDispatcherProcess({
      ...processDeps,
      config,
      providers,
      generation: ++dispatcherGeneration,
      onReconcileRequest: () => {
        reconcileWanted = true;
      },
    });
    dispatcherRestartAt = Number.POSITIVE_INFINITY;
  }

  const webhookPort = await freePort();
  const relay = await startRelay({
    random: rng.relay,
    target: () =>
      autoscaler?.running && !autoscaler.life.dead
        ? `http://127.0.0.1:${webhookPort}/forgejo-webhook`
        : undefined,
    fault,
  });
  const scalerConfig = autoscalerConfig(forgejo.url, tokens, { port: webhookPort, publicUrl: relay.url });
  let autoscalerGeneration = 0;
  function bootAutoscaler(): void {
    autoscaler = startAutoscalerProcess({
      ...processDeps,
      config: scalerConfig,
      random: rng.autoscaler,
      dispatcher: () => dispatcher,
      generation: ++autoscalerGeneration,
    });
    autoscalerRestartAt = Number.POSITIVE_INFINITY;
  }

  bootDispatcher();
  bootAutoscaler();

  let nextReconcile = t0 + RECONCILE_MS;
  async function settle(): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const before = activity;
      await delay(i < 2 ? 0 : 2);
      if (i >= 2 && before === activity) return;
    }
  }

  async function step(ms: number): Promise<void> {
    await time.advance(ms);
    const now = time.now();
    for (const proc of dead.splice(0)) proc.store.close().catch(() => undefined);
    if (now >= dispatcherRestartAt) bootDispatcher();
    if (autoscaler?.failed || now >= autoscalerRestartAt) bootAutoscaler();
    const proc = dispatcher;
    if (proc && !proc.life.dead && !proc.reconciling && (now >= nextReconcile || reconcileWanted)) {
      reconcileWanted = false;
      nextReconcile = now + RECONCILE_MS;
      proc.reconciling = proc.service
        .reconcile()
        .catch(() => undefined)
        .finally(() => {
          proc.reconciling = undefined;
        });
    }
    await relay.flush();
    cloud.checkAll();
    await settle();
  }

  function refreshJobs(): FakeJob[] {
    const jobs = forgejo.jobs();
    for (const job of jobs) jobStatus.set(job.handle, job.status);
    return jobs;
  }

  function liveVmFor(handle: string): boolean {
    for (const vm of cloud.vms.values()) {
      if (vm.tags['forgejo-fleet-handle'] === handle && vm.state === 'running') return true;
    }
    return false;
  }

  async function cancelSomewhere(jobs: FakeJob[]): Promise<void> {
    const phase = rng.driver.pick(['queued', 'dispatched', 'booting', 'running'] as const);
    const store = dispatcher?.life.dead === false ? dispatcher.store : undefined;
    for (let tries = 0; tries < 20; tries++) {
      const job = jobs[rng.driver.int(Math.max(0, jobs.length - 200), jobs.length - 1)];
      if (job === undefined) return;
      if (phase === 'running') {
        if (job.status === 'running') return cancel(job.handle, 'running');
        continue;
      }
      if (job.status !== 'waiting') continue;
      const vm = liveVmFor(job.handle);
      if (phase === 'booting') {
        if (vm) return cancel(job.handle, 'booting (vm up, not picked up)');
        continue;
      }
      if (store === undefined) return;
      const record = await store.getByHandle(job.handle);
      if (phase === 'queued' && record === undefined) return cancel(job.handle, 'queued (not dispatched)');
      if (phase === 'dispatched' && record !== undefined && !vm && record.state !== 'failed') {
        return cancel(job.handle, `dispatched (${record.state})`);
      }
    }
  }

  // Phase 1: chaos.
  const rate = options.jobsPerSecond ?? 3;
  let enqueued = 0;
  let outageUntil = 0;
  let jobs: FakeJob[] = [];
  let lastReport = Date.now();
  while (enqueued < options.jobs) {
    if (options.maxWallMs !== undefined && Date.now() - started > options.maxWallMs) break;
    const arrivals = Math.min(options.jobs - enqueued, rng.driver.int(0, 2 * rate));
    const touched = new Set<string>();
    for (let i = 0; i < arrivals; i++) {
      const repo = rng.driver.pick(REPOS);
      forgejo.enqueueJob({ repo, name: `job-${enqueued}`, runsOn: ['linux'] });
      enqueued++;
      touched.add(repo);
    }
    for (const repo of touched) if (rng.driver.chance(0.7)) void forgejo.emitPush(repo);
    if (rng.driver.chance(DRIVER_FAULTS.forgejoFault)) injectForgejoFault();
    const now = time.now();
    if (outageUntil === 0 && rng.driver.chance(DRIVER_FAULTS.outageStart)) {
      outageUntil = now + rng.driver.int(30, 120) * 1000;
      cloud.setOutage(true);
      fault('capacity_outage_windows');
    } else if (outageUntil !== 0 && now >= outageUntil) {
      outageUntil = 0;
      cloud.setOutage(false);
    }
    jobs = refreshJobs();
    if (rng.driver.chance(DRIVER_FAULTS.cancel)) await cancelSomewhere(jobs);
    await step(STEP_MS);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      say(
        `chaos: ${enqueued}/${options.jobs} jobs, ${cloud.vms.size} VMs, restarts ${restarts.dispatcher}+${restarts.autoscaler}, ${Math.round((Date.now() - started) / 1000)} s`,
      );
    }
  }

  function injectForgejoFault(): void {
    const path = rng.driver.pick(FORGEJO_PATHS);
    const times = rng.driver.int(1, 3);
    const kind = rng.driver.pick(['5xx', 'latency', 'timeout'] as const);
    if (kind === '5xx') forgejo.injectFault({ path, status: rng.driver.pick([500, 502, 503]), times });
    else if (kind === 'latency') forgejo.injectFault({ path, delayMs: rng.driver.int(20, 400), times });
    else forgejo.injectFault({ path, hang: true, times: 1 });
    fault(`forgejo_${kind}`);
  }

  // Phase 2: recovery. Capacity returns, faults stop, both services are up.
  crashing = false;
  inFlightCancels = false;
  cloud.setFaults(NO_CLOUD_FAULTS);
  cloud.setOutage(false);
  relay.setFaults({ drop: 0, duplicate: 0, delay: 0 });
  forgejo.clearFaults();
  say(`recovery: ${cloud.vms.size} VMs`);
  const recoveryStart = time.now();
  while (time.now() - recoveryStart < RECOVERY_LIMIT_MS) {
    jobs = refreshJobs();
    if (jobs.every((j) => j.status !== 'waiting' && j.status !== 'running')) break;
    await step(STEP_MS);
  }
  jobs = refreshJobs();
  const stuck: StuckJob[] = [];
  const store = dispatcher?.store;
  for (const job of jobs) {
    if (job.status !== 'waiting' && job.status !== 'running') continue;
    const record = store ? await store.getByHandle(job.handle) : undefined;
    stuck.push({
      handle: job.handle,
      status: job.status,
      dispatch:
        record === undefined
          ? 'none'
          : `${record.state}${record.error ? `: ${record.error.slice(0, 160)}` : ''}`,
    });
    // Let the run end: the job goes; its VM and registration must still be cleaned up.
    forgejo.cancelJob(job.handle);
  }

  // Phase 3: cleanup. Nothing of ours may stay.
  say(`cleanup: ${cloud.vms.size} VMs, ${stuck.length} stuck`);
  const ours = () =>
    forgejo.runners().filter((r) => !r.deleted && r.description.startsWith(`forgejo-fleet ${FLEET_ID} `));
  const cleanupStart = time.now();
  while (time.now() - cleanupStart < CLEANUP_LIMIT_MS) {
    if (cloud.vms.size === 0 && ours().length === 0 && time.now() - cleanupStart > ORPHAN_GRACE_MS) break;
    await step(5_000);
  }
  const leaks = { vms: [...cloud.vms.keys()], registrations: ours().map((r) => r.name) };

  const leftover: Leftover[] = [];
  if (dispatcher) {
    const statusOf = new Map(refreshJobs().map((j) => [j.handle, j.status]));
    for (const record of await dispatcher.store.listLive()) {
      const vm = [...cloud.vms.values()].find((v) => v.tags['forgejo-fleet-dispatch'] === record.id);
      const trail = record.transitions.map(
        (t) => `${t.state}@${Math.round((t.at - t0) / 1000)}s${t.reason ? ` (${t.reason})` : ''}`,
      );
      const runner = forgejo.runners().find((r) => r.id === record.runner?.id);
      leftover.push({
        dispatch: record.id,
        state: record.state,
        job: (record.handle ? statusOf.get(record.handle) : undefined) ?? 'none',
        vm: vm ? `${vm.id}:${vm.state}` : 'none',
        runner: runner === undefined ? 'none' : runner.deleted ? 'deleted' : 'live',
        trail: trail.join(' > '),
      });
    }
  }
  const dispatchStates: Record<string, number> = {};
  if (dispatcher) {
    for (let cursor: string | null | undefined; ; ) {
      const page = await dispatcher.store.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      for (const item of page.items) dispatchStates[item.state] = (dispatchStates[item.state] ?? 0) + 1;
      cursor = page.next_cursor;
      if (!cursor) break;
    }
  }
  jobs = refreshJobs();
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  const report: ChaosReport = {
    seed: options.seed,
    jobs: {
      enqueued,
      succeeded: count('success'),
      failed: count('failure'),
      cancelled: count('cancelled'),
      stuck: stuck.length,
    },
    cancellations,
    faults,
    restarts,
    crashPoints,
    duplicates: cloud.duplicates,
    stuck,
    leaks,
    leftover,
    dispatchStates,
    vmsCreated: cloud.created(),
    providerCalls: cloud.calls,
    webhooks: relay.stats(),
    virtualSeconds: Math.round((time.now() - t0) / 1000),
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  };

  if (autoscaler) killAutoscaler(autoscaler);
  if (dispatcher) dispatcher.life.dead = true;
  await cloud.shutdown();
  await relay.close();
  await forgejo.close();
  await dispatcher?.store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  return report;
}

/** Re-exported so the CLI and the test print the same fault rates. */
export const FAULT_RATES = { cloud: CLOUD_FAULTS, relay: RELAY_FAULTS, driver: DRIVER_FAULTS };
