/**
 * The dispatcher (real HTTP API, SQLite store on disk, the providers the config wiring builds) with
 * `kind: kubernetes` providers on the fake Kubernetes API, whose kubelet runs the fake runner in the
 * pods and VMIs against the fake Forgejo. The reconciler and the fake's controllers run only when the
 * test drives them: `reconcile()` is one pass of each, in that order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podBootstrapFromUserData } from '@forgejo-fleet/cloud-init';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { createLogger, type RunningDispatcher, startDispatcher } from '@forgejo-fleet/dispatcher';
import { createProvider, type Provider, sharedProviderDeps } from '@forgejo-fleet/providers';
import { systemClock } from '@forgejo-fleet/runtime';
import {
  type RunningFakeForgejo,
  type RunningFakeKubernetes,
  startFakeForgejo,
  startFakeKubernetes,
} from '@forgejo-fleet/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

const CLIENT_TOKEN = 'kubernetes-e2e-client-token';
const NS_A = 'runners-a';
const NS_B = 'runners-b';
const NS_VM = 'runner-vms';
const NS_ORPHAN = 'runners-orphan';
/** The kubernetes provider's SECRET_GRACE_MS: a pending pod without its Secret past it is stopped. */
const SECRET_GRACE_MS = 30_000;

let work: string;
let forgejo: RunningFakeForgejo;
let kube: RunningFakeKubernetes;
let dispatcher: RunningDispatcher;
/** The dispatcher the helpers below talk to and reconcile. */
let active: RunningDispatcher;
let kubeconfig: string;
let forgejoToken: string;

function podProvider(namespace: string) {
  return {
    kind: 'kubernetes',
    flavor: 'pod',
    kubeconfig_file: kubeconfig,
    namespace,
    pod: { image: 'registry.example.org/forgejo-fleet-runner-pod:test', run_as_user: 1001, fs_group: 1001 },
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fleet-k8s-e2e-'));
  forgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'ops' });
  forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  forgejoToken = forgejo.addToken({ user: 'ops', scopes: ['write:organization'] });

  kube = await startFakeKubernetes({
    namespaces: [NS_A, NS_B, NS_VM, NS_ORPHAN],
    kubelet: { jobMs: 50, fetchInterval: '50ms' },
  });
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'fake',
      clusters: [{ name: 'fake', cluster: { server: kube.url } }],
      users: [{ name: 'fleet', user: { token: kube.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fleet' } }],
    }),
    { mode: 0o600 },
  );
  const config = parseDispatcherConfig(
    stringify({
      fleet_id: 'k8s-e2e',
      listen: { host: '127.0.0.1', port: 0 },
      store: { path: join(work, 'dispatcher.db'), decision_log: join(work, 'decisions.jsonl') },
      forgejo: { api_url: forgejo.url, instance_url: forgejo.url, token_env: 'FORGEJO_TOKEN' },
      providers: {
        'k8s-a': podProvider(NS_A),
        'k8s-b': podProvider(NS_B),
        'k8s-vm': {
          kind: 'kubernetes',
          flavor: 'kubevirt',
          kubeconfig_file: kubeconfig,
          namespace: NS_VM,
          kubevirt: { image: 'quay.io/containerdisks/debian:12' },
        },
      },
      routes: [
        {
          name: 'pods',
          labels: ['k8s'],
          providers: ['k8s-a', 'k8s-b'],
          runner_labels: ['k8s:host'],
          timeouts: { job: '10m' },
        },
        {
          name: 'vms',
          labels: ['kubevirt'],
          providers: ['k8s-vm'],
          runner_labels: ['kubevirt:host'],
          timeouts: { job: '10m' },
        },
      ],
      scopes: { 'org:acme': {} },
      clients: [{ name: 'e2e', token_env: 'CLIENT_TOKEN', scopes: ['*'] }],
    }),
    { file: 'k8s-e2e.yaml', env: { FORGEJO_TOKEN: forgejoToken, CLIENT_TOKEN } },
  );
  // The periodic reconciler never comes due: the test runs every pass itself.
  dispatcher = await startDispatcher({ config, log: createLogger('silent'), reconcileIntervalMs: 3_600_000 });
  active = dispatcher;
});

afterEach(() => {
  kube.setQuota(NS_A, undefined);
});

afterAll(async () => {
  await dispatcher?.close();
  await kube?.close();
  await forgejo?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: the dispatch API's answers, read field by field
type Json = Record<string, any>;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${active.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : { text },
  };
}

async function dispatch(labels: string[]): Promise<{ id: string; handle: string }> {
  const job = forgejo.enqueueJob({ repo: 'acme/web', name: 'build', runsOn: labels });
  const accepted = await api('POST', '/v1/dispatch', {
    scope: 'org:acme',
    labels,
    job: { handle: job.handle, id: job.id, attempt: job.attempt, repo_id: 1, owner_id: 1, name: 'build' },
  });
  expect(accepted.status).toBe(202);
  return { id: String(accepted.body.id), handle: job.handle };
}

/** One pass of the fake cluster's controllers, then of the dispatcher's reconciler. */
async function reconcile(): Promise<void> {
  kube.tick();
  await active.service.reconcile();
}

/**
 * Drives the cluster and the reconciler until `probe` answers. The runners work on real I/O, so
 * this polls; the bound is generous and never a timing assertion.
 */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    await reconcile();
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function dispatchIn(id: string, states: string[]): Promise<Json | undefined> {
  const { body } = await api('GET', `/v1/dispatches/${id}`);
  return states.includes(body.state) ? body : undefined;
}

/** Everything the fleet could leave behind: objects in every namespace and live registrations. */
function leftovers() {
  return {
    pods: kube.pods().map((p) => p.metadata.name),
    secrets: kube.secrets().map((s) => s.metadata.name),
    vmis: kube.vmis().map((v) => v.metadata.name),
    registrations: forgejo
      .runners()
      .filter((r) => !r.deleted)
      .map((r) => r.name),
  };
}
const NOTHING = { pods: [], secrets: [], vmis: [], registrations: [] };

/** Runs reconcile passes (terminations ended at once) until nothing is left, and says what was. */
async function settled() {
  return until(
    'nothing to be left',
    async () => {
      await kube.settle();
      const left = leftovers();
      return Object.values(left).every((list) => list.length === 0) ? left : undefined;
    },
    5_000,
  ).catch(() => leftovers());
}

function jobOf(handle: string) {
  return forgejo.jobs().find((j) => j.handle === handle);
}

// Two polls with generous bounds per test: above the suite's default 20 s.
describe('dispatcher + kubernetes provider + fake Kubernetes API', { timeout: 45_000 }, () => {
  it('runs a job in its own pod, then deletes the pod, its Secret and the registration', async () => {
    const { id, handle } = await dispatch(['k8s']);

    const made = await until('the pod to be made', async () => {
      const record = await dispatchIn(id, ['booting', 'running', 'finished']);
      const pod = record && kube.object('pods', NS_A, String(record.instance_id));
      return pod && { record, pod };
    });
    const done = await until('the dispatch to finish', () => dispatchIn(id, ['finished', 'failed']));

    expect(made.record.provider).toBe('k8s-a');
    expect(made.pod.spec).toMatchObject({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, fsGroup: 1001 },
    });
    expect(done.state).toBe('finished');
    expect(done.instance_id).toBe(made.record.instance_id);
    // The job ran on this dispatch's ephemeral runner: the one the pod's bootstrap registered as.
    expect(jobOf(handle)).toMatchObject({ status: 'success', runnerId: done.runner.id });
    expect(await settled()).toEqual(NOTHING);
  });

  it('cancel before pickup: the pod, its Secret and the registration go, the job is never run', async () => {
    const job = await dispatch(['k8s']);
    // The job waits in the queue (as behind a concurrency group): the runner polls and gets nothing.
    forgejo.setConcurrencyHeld(job.handle, true);
    const booting = await until('the pod to run its runner', async () =>
      kube.pods(NS_A).some((p) => (p.status as Json | undefined)?.phase === 'Running')
        ? dispatchIn(job.id, ['booting'])
        : undefined,
    );
    expect(kube.secrets(NS_A).map((s) => s.metadata.name)).toEqual([`${booting.instance_id}-boot`]);
    expect(leftovers().registrations).toHaveLength(1);

    const cancelled = await api('DELETE', `/v1/dispatches/${job.id}`);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    // Deleted by the cancel itself, before any reconcile pass: the pod terminating, the Secret gone.
    expect(kube.pods(NS_A).every((p) => p.metadata.deletionTimestamp !== undefined)).toBe(true);
    expect(kube.secrets(NS_A)).toEqual([]);
    expect(leftovers().registrations).toEqual([]);
    expect(await settled()).toEqual(NOTHING);
    expect(jobOf(job.handle)?.status).toBe('waiting');
    expect(jobOf(job.handle)?.runnerId).toBeNull();
    forgejo.cancelJob(job.handle);
  });

  it('why tells why a pod has not started: the kubelet’s ImagePullBackOff and its message', async () => {
    const job = await dispatch(['k8s']);
    forgejo.setConcurrencyHeld(job.handle, true);
    const booting = await until('the pod to be made', () => dispatchIn(job.id, ['booting']));
    const image = 'registry.example.org/forgejo-fleet-runner-pod:test';
    kube.setStatus('pods', NS_A, booting.instance_id, {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-12-07T20:00:00Z' }],
      containerStatuses: [
        {
          name: 'runner',
          image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } },
        },
      ],
    });

    // Before a pass has seen the pod's status, why has nothing to say of it (and asks no provider).
    const before = (await api('GET', `/v1/dispatches/${job.id}/why`)).body.text as string;
    expect(before).not.toContain('not started yet');
    await reconcile();
    const why = (await api('GET', `/v1/dispatches/${job.id}/why`)).body.text as string;

    expect(why).toContain(
      `vm ${booting.instance_id} not started yet: ImagePullBackOff: Back-off pulling image "${image}"`,
    );
    expect((await api('DELETE', `/v1/dispatches/${job.id}`)).status).toBe(200);
    expect(await settled()).toEqual(NOTHING);
    forgejo.cancelJob(job.handle);
  });

  it('a namespace quota refusal falls back to the second provider of the route and cools the first down', async () => {
    kube.setQuota(NS_A, { pods: 0 });
    const callsBefore = kube.calls().length;
    const { id, handle } = await dispatch(['k8s']);

    const done = await until('the dispatch to finish', () => dispatchIn(id, ['finished', 'failed']));

    expect(done.state).toBe('finished');
    expect(done.provider).toBe('k8s-b');
    expect(jobOf(handle)?.status).toBe('success');
    const decisions = (await api('GET', `/v1/decisions?dispatch_id=${id}`)).body.items as Json[];
    expect(decisions.map((d) => [d.kind, d.provider, d.error_class])).toEqual([
      ['fallback', 'k8s-a', 'capacity'],
      ['create', 'k8s-b', null],
      ['delete', 'k8s-b', null],
    ]);
    expect(decisions[0]?.reason).toContain('exceeded quota');
    const refused = kube
      .calls()
      .slice(callsBefore)
      .filter((c) => c.path === `/api/v1/namespaces/${NS_A}/pods` && c.method === 'POST');
    expect(refused.map((c) => c.status)).toEqual([403]);
    const why = (await api('GET', `/v1/dispatches/${id}/why`)).body.text as string;
    expect(why).toMatch(/fallback attempt 1 k8s-a pod \[capacity\]: .*exceeded quota/);
    expect(why).toMatch(/k8s-a pod cooling down until .*exceeded quota/);
    expect(await settled()).toEqual(NOTHING);
  });

  it('runs a job in a KubeVirt VM from the unchanged user-data, then deletes the VMI, its launcher and its Secret', async () => {
    const { id, handle } = await dispatch(['kubevirt']);

    const booted = await until('the VMI to be made', () =>
      dispatchIn(id, ['booting', 'running', 'finished']),
    );
    // Read before the dispatch ends: the Secret goes with its VMI.
    const userData = kube.secretData(NS_VM, `${booted.instance_id}-boot`)?.userdata;
    const done = await until('the dispatch to finish', () => dispatchIn(id, ['finished', 'failed']));

    expect(booted.provider).toBe('k8s-vm');
    expect(userData).toMatch(/^#cloud-config/);
    expect(done.state).toBe('finished');
    expect(jobOf(handle)?.status).toBe('success');
    expect(await settled()).toEqual(NOTHING);
  });
});

/**
 * A dispatcher killed between a pod's POST and its Secret's leaves a pod that never starts, which
 * the next create's lookup (or another replica's resume step) adopts by its tag. Here the create
 * loses its Secret POST and its take-back DELETE, so the pod is left and adopted the same way; the
 * dispatcher's clock (and its provider's) then passes the Secret grace.
 */
describe('a pod left without its bootstrap Secret', { timeout: 45_000 }, () => {
  let skew = 0;
  const now = () => Date.now() + skew;
  let fleet: RunningDispatcher;

  beforeAll(async () => {
    const config = parseDispatcherConfig(
      stringify({
        fleet_id: 'k8s-e2e-orphan',
        listen: { host: '127.0.0.1', port: 0 },
        store: { path: join(work, 'orphan.db'), decision_log: join(work, 'orphan-decisions.jsonl') },
        forgejo: { api_url: forgejo.url, instance_url: forgejo.url, token_env: 'FORGEJO_TOKEN' },
        providers: { 'k8s-o': podProvider(NS_ORPHAN) },
        routes: [
          {
            name: 'orphan',
            labels: ['k8s-orphan'],
            providers: ['k8s-o'],
            runner_labels: ['k8s-orphan:host'],
            timeouts: { job: '10m' },
          },
        ],
        scopes: { 'org:acme': {} },
        clients: [{ name: 'e2e', token_env: 'CLIENT_TOKEN', scopes: ['*'] }],
      }),
      { file: 'k8s-e2e-orphan.yaml', env: { FORGEJO_TOKEN: forgejoToken, CLIENT_TOKEN } },
    );
    // As the config wiring builds them, but on the dispatcher's clock, so the grace can pass.
    const deps = {
      ...sharedProviderDeps({ now, sleep: systemClock.sleep }),
      kubernetes: { podBootstrap: podBootstrapFromUserData },
    };
    const providers = new Map<string, Provider>(
      Object.entries(config.providers).map(([name, p]) => [name, createProvider(name, p, undefined, deps)]),
    );
    fleet = await startDispatcher({
      config,
      log: createLogger('silent'),
      reconcileIntervalMs: 3_600_000,
      now,
      providerFor: (name) => {
        const provider = providers.get(name);
        if (provider === undefined) throw new Error(`provider ${name} is not configured`);
        return provider;
      },
    });
    active = fleet;
  });

  afterAll(async () => {
    active = dispatcher;
    await fleet?.close();
  });

  it('is given up past the grace; the job runs on a fresh pod, never two live at once, nothing left', async () => {
    kube.injectFault({ kind: 'drop', resource: 'secrets', verb: 'create', namespace: NS_ORPHAN, times: 1 });
    kube.injectFault({ kind: 'forbidden', resource: 'pods', verb: 'delete', namespace: NS_ORPHAN, times: 1 });
    const { id, handle } = await dispatch(['k8s-orphan']);
    const adopted = await until('the Secret-less pod to be adopted', () => dispatchIn(id, ['booting']));
    const orphan = String(adopted.instance_id);
    expect(kube.object('pods', NS_ORPHAN, orphan)).toBeDefined();
    expect(kube.secrets(NS_ORPHAN)).toEqual([]);

    skew += SECRET_GRACE_MS;
    const givenUp = await until('the pod to be given up', () => dispatchIn(id, ['registering']));
    const retry = (await api('GET', `/v1/decisions?dispatch_id=${id}`)).body.items as Json[];
    expect(retry.at(-1)).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('vm stopped before its job started'),
    });
    expect(givenUp.instance_id).toBeNull();
    expect(kube.object('pods', NS_ORPHAN, orphan)?.metadata.deletionTimestamp).toBeDefined();

    // Past the fresh VM's backoff (15 s for the first retry).
    skew += 20_000;
    const done = await until('the job to run on a fresh pod', () => dispatchIn(id, ['finished', 'failed']));

    expect(done.state).toBe('finished');
    expect(done.instance_id).not.toBe(orphan);
    expect(jobOf(handle)).toMatchObject({ status: 'success', runnerId: done.runner.id });
    const podsPath = `/api/v1/namespaces/${NS_ORPHAN}/pods`;
    const lifecycle = kube
      .calls()
      .filter((c) => c.path.startsWith(podsPath) && c.status < 300)
      .filter((c) => c.method === 'POST' || c.method === 'DELETE')
      .map((c) => [c.method, c.method === 'POST' ? '' : c.path.slice(podsPath.length + 1)]);
    // The second pod is made only after the first one's delete: never two live pods for the job.
    expect(lifecycle).toEqual([
      ['POST', ''],
      ['DELETE', orphan],
      ['POST', ''],
      ['DELETE', String(done.instance_id)],
    ]);
    expect(await settled()).toEqual(NOTHING);
  });
});
