/**
 * The HA chaos driver (`npm run chaos:ha`, and its short form in `npm test`): three dispatchers
 * and two autoscalers as real processes on one PostgreSQL, the fake Forgejo and the fake
 * Kubernetes API (its kubelet runs the fake runner in every pod) in this process. Jobs arrive
 * steadily and in bursts while a seeded schedule SIGKILLs the leader, SIGKILLs random replicas
 * (started again later), freezes the leader past its lease in the middle of a reconcile pass and
 * thaws it, and restarts PostgreSQL. Then faults stop, everything settles, and the report checks:
 * every job got one VM and finished, no handle ever got a second pod, nothing is left, failovers
 * happened, and the frozen leader's stale writes and deletes were refused.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type FakeJob,
  type RunningFakeForgejo,
  type RunningFakeKubernetes,
  startFakeForgejo,
  startFakeKubernetes,
} from '@forgejo-fleet/testkit';
import { freePort, until } from '../autoscaler-net.js';
import { type Random, seededRandom } from '../chaos/random.js';
import { type PodLifetimes, podLifetimes } from './lifetimes.js';
import { type ChaosPostgres, openChaosPostgres } from './postgres.js';
import { type Balancer, type RecordedCall, type Recorder, startBalancer, startRecorder } from './proxies.js';
import { createReplica, type Entry, type Replica } from './replica.js';
import { countRefusals, failoverLines, metricValue, podHandle } from './signals.js';
import {
  CLIENT_TOKEN,
  LABEL,
  NAMESPACE,
  REPOS,
  writeAutoscalerConfig,
  writeDispatcherConfig,
} from './world.js';

export interface ChaosHaOptions {
  readonly seed: number;
  readonly jobs: number;
  /** Steady arrivals per second (bursts come on top). */
  readonly jobsPerSecond: number;
  readonly faults: {
    readonly leaderKills: number;
    readonly replicaKills: number;
    readonly pauses: number;
    readonly postgresRestarts: number;
  };
  readonly leaseTtlMs?: number;
  readonly entry?: Entry;
  /** A cluster the caller owns (restarted by the run); default: one started for the run. */
  readonly postgres?: { readonly url: string; readonly dir: string };
  /** Bound on the settle phase (every job done, nothing left). */
  readonly settleMs?: number;
  /** Keep the run's directory (configs, every replica's log) and say where. */
  readonly keepDir?: boolean;
  readonly progress?: (line: string) => void;
}

export interface PauseRecord {
  readonly replica: string;
  /** How long it was frozen, against the lease TTL. */
  readonly frozen_ms: number;
  /**
   * Frozen in the middle of leader work: right after the cloud deleted a pod for it, the answer
   * held until after the thaw, so its next step is to record that with a lost lease.
   */
  readonly mid_pass: boolean;
  /** Another replica led while it was frozen. */
  readonly taken_over: boolean;
  /**
   * In its log after the thaw: writes the store refused (FencedWriteError), and LeadershipLostError
   * (a delete the guard refused, or leader work aborted when its term ended).
   */
  readonly fenced_writes_refused: number;
  readonly leadership_lost_errors: number;
  /** Kubernetes deletes it sent between the thaw and its own "leadership lost": must be 0. */
  readonly stale_deletes: number;
  /** From the thaw to its own "leadership lost" log line. */
  readonly thaw_to_lost_ms: number | null;
  /** The stale deletes' paths (at most 10), to read in its log. */
  readonly stale_delete_paths: string[];
}

export interface ChaosHaReport {
  readonly seed: number;
  readonly wall_seconds: number;
  readonly setup: Record<string, unknown>;
  readonly jobs: {
    readonly enqueued: number;
    readonly succeeded: number;
    readonly by_status: Record<string, number>;
    /** Handles that never got a pod. */
    readonly without_vm: string[];
    /** Handles not finished when the settle phase ended. */
    readonly unfinished: string[];
  };
  readonly vms: {
    readonly created: number;
    /** Pods whose container the kubelet started. */
    readonly started: number;
    /**
     * Handles with more than one pod over the whole run, and how many of those started: a figure,
     * not a failure, while at most one started and no two were live at once (a pod that never
     * started, deleted, then a fresh one).
     */
    readonly replacements: { handle: string; pods: number; started: number }[];
    /** Handles that had two pods live at one moment (an invariant: none). */
    readonly two_live_at_once: string[];
  };
  readonly leaks: { readonly pods: string[]; readonly secrets: string[]; readonly registrations: string[] };
  readonly failovers: {
    /** forgejo_fleet_ha_failovers_total, the last scrape of every process summed. */
    readonly metrics_sum: number;
    /** "became the leader" log lines after another holder. */
    readonly from_logs: number;
    /** The highest lease epoch any replica reported. */
    readonly last_epoch: number;
  };
  readonly fencing: {
    readonly pauses: PauseRecord[];
    readonly fenced_writes_refused: number;
    readonly leadership_lost_errors: number;
    readonly stale_deletes: number;
  };
  readonly faults: {
    readonly leader_kills: number;
    readonly replica_kills: Record<string, number>;
    readonly pauses: number;
    readonly postgres_restarts: number;
  };
  readonly restarts: Record<string, number>;
  readonly balancer: Record<string, number>;
  readonly invariants: Record<string, boolean>;
  /** The run's directory when kept. */
  readonly dir?: string;
}

type FaultKind = 'leader-kill' | 'replica-kill' | 'pause' | 'postgres-restart';

/** A pause as the run saw it; `tail` is the Secret delete that finishes the held pod delete. */
type Frozen = PauseRecord & { readonly resumedAt: number; readonly tail?: string };

/** A metrics scrape of one process generation. */
interface Scrape {
  failovers: number;
  epoch: number;
}

const POD_LIST = new RegExp(`^/api/v1/namespaces/${NAMESPACE}/pods$`);
/** The least time between the end of one fault and the start of the next. */
const FAULT_GAP_MS = 3_000;
const ONE_POD = new RegExp(`^/api/v1/namespaces/${NAMESPACE}/pods/[^/]+$`);

export async function runChaosHa(options: ChaosHaOptions): Promise<ChaosHaReport> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const leaseTtlMs = options.leaseTtlMs ?? 3_000;
  const say = options.progress ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'fleet-chaos-ha-'));
  mkdirSync(join(dir, 'logs'));

  const cleanup: (() => Promise<unknown>)[] = [];
  let pg: ChaosPostgres | undefined;
  try {
    pg = await openChaosPostgres(options.postgres);
    const db = pg;
    cleanup.push(() => db.close());

    const forgejo = await startFakeForgejo();
    cleanup.push(() => forgejo.close());
    forgejo.addUser({ name: 'ops' });
    forgejo.addOrg({ name: 'acme', owners: ['ops'] });
    for (const repo of REPOS) forgejo.addRepo({ owner: 'acme', name: repo.split('/')[1] ?? '' });
    const forgejoToken = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

    // Every pod the API server ever made, by handle: the truth about duplicates, whoever asked.
    const podsByHandle = new Map<string, string[]>();
    // Pods whose container the kubelet started (phase past Pending): a pod that never started
    // cannot have run a job.
    const startedPods = new Set<string>();
    // When each pod was live, for "never two live pods for one handle at once".
    const lifetimes = podLifetimes();
    const kube = await startFakeKubernetes({
      namespaces: [NAMESPACE],
      kubelet: { jobMs: 200, fetchInterval: '200ms' },
      onAnswer(answer) {
        if (answer.method === 'DELETE' && answer.status < 300 && ONE_POD.test(answer.path)) {
          lifetimes.ended(answer.path.slice(answer.path.lastIndexOf('/') + 1), Date.now());
          return;
        }
        if (answer.method !== 'POST' || answer.status !== 201 || !POD_LIST.test(answer.path)) return;
        const pod = podHandle(answer.body);
        if (pod === undefined) return;
        podsByHandle.set(pod.handle, [...(podsByHandle.get(pod.handle) ?? []), pod.name]);
        lifetimes.created(pod.handle, pod.name, Date.now());
      },
    });
    cleanup.push(() => kube.close());
    // The cluster's controllers and kubelet move on real time.
    const ticker = setInterval(() => {
      kube.tick();
      for (const pod of kube.pods(NAMESPACE)) {
        const phase = (pod.status as { phase?: string } | undefined)?.phase;
        if (phase !== undefined && phase !== 'Pending') startedPods.add(pod.metadata.name);
        if (phase === 'Succeeded' || phase === 'Failed') lifetimes.ended(pod.metadata.name, Date.now());
      }
    }, 100);
    cleanup.push(async () => clearInterval(ticker));

    const kubeCalls: RecordedCall[] = [];
    const recorders = new Map<string, Recorder>();
    const dispatchers: Replica[] = [];
    const apiUrls = new Map<Replica, string>();
    const env = {
      CHAOS_HA_PG_URL: db.url,
      CHAOS_HA_FORGEJO_TOKEN: forgejoToken,
      CHAOS_HA_CLIENT_TOKEN: CLIENT_TOKEN,
    };
    for (const name of ['d0', 'd1', 'd2']) {
      const recorder = await startRecorder(name, kube.url, kubeCalls);
      cleanup.push(() => recorder.close());
      recorders.set(name, recorder);
      const apiPort = await freePort();
      const opsPort = await freePort();
      const configFile = writeDispatcherConfig({
        name,
        dir,
        apiPort,
        opsPort,
        kubeUrl: recorder.url,
        kubeToken: kube.token,
        forgejoUrl: forgejo.url,
        leaseTtlMs,
      });
      const replica = createReplica({
        name,
        kind: 'dispatcher',
        configFile,
        opsUrl: `http://127.0.0.1:${opsPort}`,
        logFile: join(dir, 'logs', `${name}.log`),
        env,
        entry: options.entry ?? 'source',
      });
      dispatchers.push(replica);
      apiUrls.set(replica, `http://127.0.0.1:${apiPort}`);
    }
    const balancer: Balancer = await startBalancer(() =>
      dispatchers.filter((d) => d.state() === 'up').map((d) => apiUrls.get(d) ?? ''),
    );
    cleanup.push(() => balancer.close());
    const autoscalers: Replica[] = [];
    for (const name of ['a0', 'a1']) {
      const opsPort = await freePort();
      const configFile = writeAutoscalerConfig({
        name,
        dir,
        opsPort,
        dispatcherUrl: balancer.url,
        forgejoUrl: forgejo.url,
      });
      autoscalers.push(
        createReplica({
          name,
          kind: 'autoscaler',
          configFile,
          opsUrl: `http://127.0.0.1:${opsPort}`,
          logFile: join(dir, 'logs', `${name}.log`),
          env,
          entry: options.entry ?? 'source',
        }),
      );
    }
    const replicas = [...dispatchers, ...autoscalers];
    // Stopped last-in first-out: the replicas before the proxies and fakes they talk to.
    cleanup.push(() => Promise.all(replicas.map((r) => r.stop())));

    say('starting 3 dispatchers');
    await Promise.all(dispatchers.map((d) => d.start()));
    say('starting 2 autoscalers');
    await Promise.all(autoscalers.map((a) => a.start()));

    // Metrics of every process generation, kept across kills: the last scrape before a kill counts.
    const scrapes = new Map<string, Scrape>();
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        await Promise.all(dispatchers.map((d) => scrape(d, scrapes)));
        await delay(1_000);
      }
    })();

    const faults = {
      leader_kills: 0,
      replica_kills: {} as Record<string, number>,
      pauses: 0,
      postgres_restarts: 0,
    };
    const pauses: Frozen[] = [];
    const enqueued: FakeJob[] = [];

    const arrivals = arrivalPlan(random.fork(), options.jobs, options.jobsPerSecond);
    const arrivalMs = arrivals.at(-1)?.at ?? 0;
    const schedule = faultPlan(random.fork(), options.faults, arrivalMs);
    say(
      `${options.jobs} jobs over ${Math.round(arrivalMs / 1000)} s; faults: ${schedule.map((f) => f.kind).join(', ')}`,
    );

    const progress = setInterval(() => {
      const done = forgejo.jobs().filter((j) => j.status === 'success').length;
      const up = replicas.filter((r) => r.state() === 'up').map((r) => r.name);
      say(
        `${Math.round((Date.now() - started) / 1000)} s: ${enqueued.length}/${options.jobs} queued, ${done} done, ${kube.pods().length} pods, up ${up.join(' ')}`,
      );
    }, 5_000);
    cleanup.push(async () => clearInterval(progress));

    const chaosRandom = random.fork();
    const faultLoop = (async () => {
      for (const fault of schedule) {
        const wait = started + fault.at - Date.now();
        if (wait > 0) await delay(wait);
        say(`fault: ${fault.kind}`);
        if (fault.kind === 'postgres-restart') {
          await db.restart();
          faults.postgres_restarts++;
        } else if (fault.kind === 'leader-kill') {
          const leader = await findLeader(dispatchers);
          await leader.kill();
          faults.leader_kills++;
          await delay(chaosRandom.int(1_000, 4_000));
          await leader.start();
        } else if (fault.kind === 'replica-kill') {
          const victim = chaosRandom.pick(replicas.filter((r) => r.state() === 'up'));
          await victim.kill();
          faults.replica_kills[victim.kind] = (faults.replica_kills[victim.kind] ?? 0) + 1;
          await delay(chaosRandom.int(2_000, 8_000));
          await victim.start();
        } else {
          const leader = await findLeader(dispatchers);
          const record = await freezePastLease(leader, recorders.get(leader.name), dispatchers, leaseTtlMs);
          pauses.push(record);
          faults.pauses++;
        }
        // One fault at a time: the next waits until this one's effects (a thawed leader's refused
        // writes, a failover) have shown, so each is seen on its own.
        await delay(FAULT_GAP_MS);
      }
    })();

    const origin = Date.now();
    for (const arrival of arrivals) {
      const wait = origin + arrival.at - Date.now();
      if (wait > 0) await delay(wait);
      for (let i = 0; i < arrival.count; i++) {
        const repo = random.pick(REPOS);
        enqueued.push(forgejo.enqueueJob({ repo, name: `job-${enqueued.length}`, runsOn: [LABEL] }));
      }
    }
    await faultLoop;

    say('faults over: settling');
    for (const replica of replicas) replica.resume();
    for (const replica of replicas) if (replica.state() === 'down') await replica.start();
    const settleMs = options.settleMs ?? 300_000;
    const handles = new Set(enqueued.map((j) => j.handle));
    const finished = () =>
      forgejo.jobs().filter((j) => handles.has(j.handle) && j.status === 'success').length === handles.size;
    await until('every job to finish', () => (finished() ? true : undefined), settleMs).catch(
      () => undefined,
    );
    await until(
      'nothing of ours to be left',
      async () => {
        await kube.settle();
        const left = leftovers(kube, forgejo);
        return Object.values(left).every((list) => list.length === 0) ? true : undefined;
      },
      90_000,
    ).catch(() => undefined);
    scraping = false;
    await scraper;
    await Promise.all(dispatchers.map((d) => scrape(d, scrapes)));

    const report = buildReport({
      options,
      started,
      leaseTtlMs,
      forgejo,
      kube,
      enqueued,
      podsByHandle,
      startedPods,
      lifetimes,
      dispatchers,
      replicas,
      scrapes,
      pauses: pauses.map((p) => ({ ...p, ...staleDeletes(p, dispatchers, kubeCalls) })),
      faults,
      balancer,
      apiUrls,
      dir,
    });
    return report;
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

interface Arrival {
  readonly at: number;
  readonly count: number;
}

/**
 * A steady stream (one arrival per 1/rate s) with bursts of 40–120 jobs about every 15 s of it,
 * exactly `jobs` in all.
 */
export function arrivalPlan(random: Random, jobs: number, perSecond: number): Arrival[] {
  const plan: Arrival[] = [];
  let left = jobs;
  let at = 0;
  const stepMs = 1_000 / perSecond;
  while (left > 0) {
    const burst = random.chance(stepMs / 15_000) ? random.int(40, 120) : 1;
    const count = Math.min(left, burst);
    plan.push({ at: Math.round(at), count });
    left -= count;
    at += stepMs;
  }
  return plan;
}

/** The faults, shuffled and spread evenly over the arrivals (never in the first or last tenth). */
export function faultPlan(
  random: Random,
  counts: ChaosHaOptions['faults'],
  arrivalMs: number,
): { kind: FaultKind; at: number }[] {
  const kinds: FaultKind[] = [
    ...Array<FaultKind>(counts.leaderKills).fill('leader-kill'),
    ...Array<FaultKind>(counts.replicaKills).fill('replica-kill'),
    ...Array<FaultKind>(counts.pauses).fill('pause'),
    ...Array<FaultKind>(counts.postgresRestarts).fill('postgres-restart'),
  ];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  const span = arrivalMs * 0.8;
  return kinds.map((kind, i) => ({ kind, at: Math.round(arrivalMs * 0.1 + (span * i) / kinds.length) }));
}

async function role(replica: Replica): Promise<string | undefined> {
  if (replica.state() !== 'up') return undefined;
  try {
    const res = await fetch(`${replica.opsUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { role?: unknown };
    return typeof body.role === 'string' ? body.role : undefined;
  } catch {
    return undefined;
  }
}

/** The replica whose `/readyz` says leader (a failover may be under way: waits for one). */
async function findLeader(dispatchers: readonly Replica[], except?: Replica): Promise<Replica> {
  return until(
    'a dispatcher to report role leader on /readyz',
    async () => {
      for (const replica of dispatchers) {
        if (replica !== except && (await role(replica)) === 'leader') return replica;
      }
      return undefined;
    },
    60_000,
  );
}

/**
 * Freezes the leader in the middle of its work: the answer to its next pod delete (a finished
 * job's VM; only the leader deletes in this run) is held, the process frozen (SIGSTOP) until
 * another replica leads and the lease is well past, the answer delivered and the process thawed
 * (SIGCONT). Its next step records the delete with a lease it no longer holds: the store must
 * refuse it, and the delete guard any further delete. If no delete comes within a few seconds,
 * it is frozen wherever it is.
 */
async function freezePastLease(
  leader: Replica,
  recorder: Recorder | undefined,
  dispatchers: readonly Replica[],
  leaseTtlMs: number,
): Promise<Frozen> {
  let frozenAt = 0;
  let takenOver = false;
  const freeze = async (deliver?: () => Promise<void>) => {
    leader.pause();
    frozenAt = Date.now();
    const successor = await findLeader(dispatchers, leader).catch(() => undefined);
    takenOver = successor !== undefined;
    // Past the lease by a margin, whoever leads now.
    const left = frozenAt + leaseTtlMs * 2 - Date.now();
    if (left > 0) await delay(left);
    await deliver?.();
    leader.resume();
    return Date.now();
  };
  let held: Promise<number> | undefined;
  let heldPath: string | undefined;
  const midPass = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 8_000);
    recorder?.holdNext({
      match: (method, path) => {
        const hit = method === 'DELETE' && ONE_POD.test(path);
        if (hit) heldPath = path;
        return hit;
      },
      whileHeld: (deliver) => {
        clearTimeout(timer);
        resolve(true);
        held = freeze(deliver);
        return held.then(() => undefined);
      },
    });
  });
  if (!midPass) recorder?.holdNext({ match: () => false, whileHeld: async () => undefined });
  const resumedAt = await (held ?? freeze());
  return {
    replica: leader.name,
    frozen_ms: resumedAt - frozenAt,
    mid_pass: midPass,
    taken_over: takenOver,
    fenced_writes_refused: 0,
    leadership_lost_errors: 0,
    stale_deletes: 0,
    thaw_to_lost_ms: null,
    stale_delete_paths: [],
    resumedAt,
    // The provider's delete of that pod goes on to its Secret after the thaw: the tail of a delete
    // the guard allowed before the freeze, not a new one.
    ...(heldPath === undefined ? {} : { tail: `${heldPath.replace('/pods/', '/secrets/')}-boot` }),
  };
}

/** Refusals in the frozen replica's log after its thaw, and the deletes it sent before it knew. */
function staleDeletes(
  pause: Frozen,
  dispatchers: readonly Replica[],
  calls: readonly RecordedCall[],
): Pick<
  PauseRecord,
  | 'fenced_writes_refused'
  | 'leadership_lost_errors'
  | 'stale_deletes'
  | 'thaw_to_lost_ms'
  | 'stale_delete_paths'
> {
  const replica = dispatchers.find((d) => d.name === pause.replica);
  const after = (replica?.logLines() ?? []).filter((line) => Number(line.time) >= pause.resumedAt);
  const lost = after.find((line) => line.msg === 'leadership lost; leader work stops');
  // Without that line (killed before it said so), its next own lease attempt bounds the window.
  const until = lost === undefined ? pause.resumedAt + 1_000 : Number(lost.time);
  const refusals = countRefusals(after.filter((line) => Number(line.time) <= until + 5_000));
  const stale = calls.filter(
    (c) =>
      c.replica === pause.replica &&
      c.method === 'DELETE' &&
      c.path !== pause.tail &&
      c.at >= pause.resumedAt &&
      c.at <= until,
  );
  return {
    fenced_writes_refused: refusals.fencedWrites,
    leadership_lost_errors: refusals.leadershipLost,
    stale_deletes: stale.length,
    thaw_to_lost_ms: lost === undefined ? null : until - pause.resumedAt,
    stale_delete_paths: stale.slice(0, 10).map((c) => `${c.path} at thaw+${c.at - pause.resumedAt} ms`),
  };
}

async function scrape(replica: Replica, scrapes: Map<string, Scrape>): Promise<void> {
  if (replica.state() !== 'up') return;
  const key = `${replica.name}#${replica.generations()}`;
  try {
    const res = await fetch(`${replica.opsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    scrapes.set(key, {
      failovers: metricValue(text, 'forgejo_fleet_ha_failovers_total') ?? 0,
      epoch: metricValue(text, 'forgejo_fleet_ha_lease_epoch') ?? 0,
    });
  } catch {
    // Down, frozen or restarting: the previous scrape of this generation stands.
  }
}

function leftovers(kube: RunningFakeKubernetes, forgejo: RunningFakeForgejo) {
  return {
    pods: kube.pods(NAMESPACE).map((p) => p.metadata.name),
    secrets: kube.secrets(NAMESPACE).map((s) => s.metadata.name),
    registrations: forgejo
      .runners()
      .filter((r) => !r.deleted)
      .map((r) => r.name),
  };
}

function buildReport(run: {
  options: ChaosHaOptions;
  started: number;
  leaseTtlMs: number;
  forgejo: RunningFakeForgejo;
  kube: RunningFakeKubernetes;
  enqueued: readonly FakeJob[];
  podsByHandle: ReadonlyMap<string, readonly string[]>;
  startedPods: ReadonlySet<string>;
  lifetimes: PodLifetimes;
  dispatchers: readonly Replica[];
  replicas: readonly Replica[];
  scrapes: ReadonlyMap<string, Scrape>;
  pauses: Frozen[];
  faults: ChaosHaReport['faults'];
  balancer: Balancer;
  apiUrls: ReadonlyMap<Replica, string>;
  dir: string;
}): ChaosHaReport {
  const handles = new Set(run.enqueued.map((j) => j.handle));
  const jobs = run.forgejo.jobs().filter((j) => handles.has(j.handle));
  const byStatus: Record<string, number> = {};
  for (const job of jobs) byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
  const replacements = run.lifetimes.replacements(run.startedPods);
  const overlapping = run.lifetimes.overlapping();
  const leaks = leftovers(run.kube, run.forgejo);
  const logs = run.dispatchers.flatMap((d) => d.logLines());
  const refusals = countRefusals(logs);
  const scraped = [...run.scrapes.values()];
  const failovers = {
    metrics_sum: scraped.reduce((sum, s) => sum + s.failovers, 0),
    from_logs: failoverLines(logs),
    last_epoch: Math.max(0, ...scraped.map((s) => s.epoch)),
  };
  const pauses = run.pauses.map(({ resumedAt: _, tail: __, ...pause }) => pause);
  const staleDeletes = pauses.reduce((sum, p) => sum + p.stale_deletes, 0);
  const succeeded = byStatus.success ?? 0;
  const withoutVm = [...handles].filter((h) => !run.podsByHandle.has(h));
  const unfinished = jobs.filter((j) => j.status !== 'success').map((j) => j.handle);
  const invariants = {
    every_job_got_a_vm_and_finished:
      withoutVm.length === 0 && unfinished.length === 0 && succeeded === handles.size,
    never_two_live_vms_per_handle_at_once: overlapping.length === 0,
    never_two_started_vms_per_handle: replacements.every((d) => d.started <= 1),
    no_leaked_vm: leaks.pods.length === 0 && leaks.secrets.length === 0,
    no_leaked_registration: leaks.registrations.length === 0,
    failovers_counted: failovers.metrics_sum > 0 && failovers.from_logs > 0,
    fencing_refused_the_frozen_leader:
      pauses.length === run.options.faults.pauses &&
      pauses.every((p) => p.fenced_writes_refused + p.leadership_lost_errors > 0),
    no_write_by_a_fenced_replica: staleDeletes === 0,
  };
  const restarts: Record<string, number> = {};
  for (const replica of run.replicas) restarts[replica.name] = replica.generations() - 1;
  const balancer: Record<string, number> = {};
  for (const d of run.dispatchers) balancer[d.name] = run.balancer.served.get(run.apiUrls.get(d) ?? '') ?? 0;
  return {
    seed: run.options.seed,
    wall_seconds: Math.round((Date.now() - run.started) / 1000),
    setup: {
      dispatchers: run.dispatchers.length,
      autoscalers: run.replicas.length - run.dispatchers.length,
      store: 'postgres (one fresh database)',
      provider: 'kubernetes, flavor pod, on the fake Kubernetes API (its kubelet runs the fake runner)',
      lease_ttl_ms: run.leaseTtlMs,
      reconcile_interval_ms: 1_000,
      entry: run.options.entry ?? 'source',
    },
    jobs: {
      enqueued: handles.size,
      succeeded,
      by_status: byStatus,
      without_vm: withoutVm.slice(0, 50),
      unfinished: unfinished.slice(0, 50),
    },
    vms: {
      created: [...run.podsByHandle.values()].reduce((sum, pods) => sum + pods.length, 0),
      started: run.startedPods.size,
      replacements,
      two_live_at_once: overlapping.slice(0, 50),
    },
    leaks,
    failovers,
    fencing: {
      pauses,
      fenced_writes_refused: refusals.fencedWrites,
      leadership_lost_errors: refusals.leadershipLost,
      stale_deletes: staleDeletes,
    },
    faults: run.faults,
    restarts,
    balancer,
    invariants,
    ...(run.options.keepDir ? { dir: run.dir } : {}),
  };
}
