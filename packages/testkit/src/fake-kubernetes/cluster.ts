import { randomUUID } from 'node:crypto';
import { BootPlanError, podBootPlan, vmiBootPlan } from './boot-plan.js';
import { createKubelet, type Kubelet } from './kubelet.js';
import { createStore, kubeTime } from './store.js';
import type { FakeKubeResource, FakeKubernetesOptions, FakeQuota, KubeObject } from './types.js';
import { isStringMap } from './validate.js';

export const VMI_FINALIZER = 'kubevirt.io/foregroundDeleteVirtualMachine';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const NODE_NAME = 'fake-node-1';
const DEFAULT_GRACE_SECONDS = 30;
const RESOURCE_ORDER: readonly FakeKubeResource[] = ['pods', 'secrets', 'virtualmachineinstances'];
/** k8s.io/apiserver `storage/names`: the alphabet of generated name suffixes. */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/** What the fake keeps beside an object: not part of the API answer. */
interface Runtime {
  /** Set by `setStatus`: the kubelet and controllers leave its status alone. */
  pinned: boolean;
  /** A terminating pod is removed at this virtual time. */
  removeAt?: number;
  /** A VMI's launcher pod. */
  launcher?: string;
  /** The runner was started (or could not be). */
  started?: boolean;
}

type Json = Record<string, unknown>;

const phaseOf = (o: KubeObject) => String((o.status as Json | undefined)?.phase ?? '');
const isTerminal = (o: KubeObject) => ['Succeeded', 'Failed'].includes(phaseOf(o));
const isLauncher = (o: KubeObject) => o.metadata.labels?.['kubevirt.io'] === 'virt-launcher';
const asArray = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isStringMap) : []);

/**
 * The fake cluster behind the API: the object store, deletion with grace and finalizers, the garbage
 * collector, pod quota, the KubeVirt controller (launcher pods, FailedCreate) and the kubelet that runs
 * the fake runner. `sync` moves everything that is due at the current virtual time.
 */
export function createCluster(options: FakeKubernetesOptions) {
  const now = options.now ?? Date.now;
  const newUid = options.uid ?? randomUUID;
  const store = createStore(now);
  const namespaces = new Set(options.namespaces ?? ['default']);
  const quotas = new Map<string, FakeQuota>(Object.entries(options.quotas ?? {}));
  const terminationMs = (options.terminationSeconds ?? 2) * 1000;
  const gcDelayMs = (options.garbageCollectionDelaySeconds ?? 0) * 1000;
  const kubelet: Kubelet | undefined =
    options.kubelet === false ? undefined : createKubelet(options.kubelet ?? {});
  const runtimes = new Map<string, Runtime>();
  let nextIp = 2;

  function runtime(o: KubeObject): Runtime {
    let found = runtimes.get(o.metadata.uid);
    if (found === undefined) {
      found = { pinned: false };
      runtimes.set(o.metadata.uid, found);
    }
    return found;
  }

  /** Five characters of the apiserver's alphabet, from a fresh uid (so an injected uid makes them stable). */
  function nameSuffix(): string {
    const hex = newUid().replaceAll('-', '');
    let out = '';
    for (let i = 0; i < 5; i++)
      out += SUFFIX_ALPHABET[Number.parseInt(hex.slice(i * 2, i * 2 + 2) || '0', 16) % 27];
    return out;
  }

  function podsUsed(namespace: string): number {
    return store.list('pods', namespace).filter((p) => !isTerminal(p)).length;
  }

  /** The ResourceQuota admission's refusal of one more pod, or undefined when it fits. */
  function quotaRefusal(namespace: string, podName: string): string | undefined {
    const quota = quotas.get(namespace);
    if (quota === undefined) return undefined;
    const used = podsUsed(namespace);
    if (used + 1 <= quota.pods) return undefined;
    return `pods "${podName}" is forbidden: exceeded quota: ${quota.name ?? 'fleet-quota'}, requested: pods=1, used: pods=${used}, limited: pods=${quota.pods}`;
  }

  function allIn(namespace: string): [FakeKubeResource, KubeObject][] {
    return RESOURCE_ORDER.flatMap((r) =>
      store.list(r, namespace).map((o) => [r, o] as [FakeKubeResource, KubeObject]),
    );
  }

  function dependentsOf(owner: KubeObject): [FakeKubeResource, KubeObject][] {
    return allIn(owner.metadata.namespace).filter(([, o]) =>
      (o.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.metadata.uid),
    );
  }

  function removeNow(resource: FakeKubeResource, o: KubeObject): void {
    store.remove(resource, o);
    void kubelet?.stop(o.metadata.uid);
  }

  /** A delete as the registry does it: grace for pods, the KubeVirt finalizer for VMIs, propagation. */
  function deleteObject(
    resource: FakeKubeResource,
    o: KubeObject,
    opts: { graceSeconds?: number | undefined; propagation: Propagation },
  ): void {
    if (opts.propagation === 'Orphan') {
      for (const [r, dependent] of dependentsOf(o)) {
        dependent.metadata.ownerReferences = (dependent.metadata.ownerReferences ?? []).filter(
          (ref) => ref.uid !== o.metadata.uid,
        );
        if (dependent.metadata.ownerReferences.length === 0) delete dependent.metadata.ownerReferences;
        store.put(r, dependent);
      }
    }
    const finalizers = o.metadata.finalizers ?? [];
    if (opts.propagation === 'Foreground' && !finalizers.includes(FOREGROUND_FINALIZER))
      o.metadata.finalizers = [...finalizers, FOREGROUND_FINALIZER];
    const spec = (o.spec ?? {}) as Json;
    const grace =
      resource === 'secrets'
        ? 0
        : (opts.graceSeconds ??
          (spec.terminationGracePeriodSeconds as number | undefined) ??
          DEFAULT_GRACE_SECONDS);
    if (grace === 0 && (o.metadata.finalizers ?? []).length === 0 && resource !== 'virtualmachineinstances') {
      removeNow(resource, o);
      return;
    }
    const state = runtime(o);
    const deadline = now() + grace * 1000;
    const previous = o.metadata.deletionTimestamp;
    if (previous === undefined || deadline < Date.parse(previous)) {
      o.metadata.deletionTimestamp = kubeTime(deadline);
      o.metadata.deletionGracePeriodSeconds = grace;
    }
    state.removeAt = Math.min(
      state.removeAt ?? Number.POSITIVE_INFINITY,
      now() + Math.min(grace * 1000, terminationMs),
    );
    void kubelet?.stop(o.metadata.uid);
    if (resource === 'virtualmachineinstances' && state.launcher !== undefined) {
      const launcher = store.get('pods', o.metadata.namespace, state.launcher);
      if (launcher !== undefined)
        deleteObject('pods', launcher, { graceSeconds: grace, propagation: 'Background' });
    }
    store.put(resource, o);
  }

  /** The garbage collector: dependents whose owners (same namespace, by uid) are all gone, or deleting in foreground. */
  function collectGarbage(): boolean {
    let changed = false;
    for (const namespace of new Set(
      RESOURCE_ORDER.flatMap((r) => store.list(r).map((o) => o.metadata.namespace)),
    )) {
      const present = new Map(allIn(namespace).map(([, o]) => [o.metadata.uid, o]));
      for (const [resource, o] of allIn(namespace)) {
        const refs = o.metadata.ownerReferences ?? [];
        if (refs.length === 0 || o.metadata.deletionTimestamp !== undefined) continue;
        const foreground = refs.some((ref) =>
          present.get(ref.uid)?.metadata.finalizers?.includes(FOREGROUND_FINALIZER),
        );
        const gone = refs.every((ref) => {
          if (present.has(ref.uid)) return false;
          const since = store.goneSince(ref.uid) ?? Date.parse(o.metadata.creationTimestamp);
          return now() >= since + gcDelayMs;
        });
        if (!foreground && !gone) continue;
        deleteObject(resource, o, { propagation: 'Background' });
        changed = true;
      }
    }
    return changed;
  }

  /** Finishes terminations that are due (all of them when forced); false when nothing changed. */
  function finishDeletions(force: boolean): boolean {
    let changed = false;
    for (const resource of RESOURCE_ORDER) {
      for (const o of store.list(resource)) {
        if (o.metadata.deletionTimestamp === undefined) continue;
        const finalizers = o.metadata.finalizers ?? [];
        const drop = (name: string) => {
          o.metadata.finalizers = finalizers.filter((f) => f !== name);
          if (o.metadata.finalizers.length === 0) delete o.metadata.finalizers;
          store.put(resource, o);
          changed = true;
        };
        if (finalizers.includes(FOREGROUND_FINALIZER) && dependentsOf(o).length === 0)
          drop(FOREGROUND_FINALIZER);
        const state = runtime(o);
        if (
          resource === 'virtualmachineinstances' &&
          (o.metadata.finalizers ?? []).includes(VMI_FINALIZER) &&
          (state.launcher === undefined ||
            store.get('pods', o.metadata.namespace, state.launcher) === undefined)
        ) {
          drop(VMI_FINALIZER);
        }
        if ((o.metadata.finalizers ?? []).length > 0) continue;
        if (resource === 'pods' && !force && now() < (state.removeAt ?? 0)) continue;
        removeNow(resource, o);
        changed = true;
      }
    }
    return changed;
  }

  function setStatus(resource: FakeKubeResource, o: KubeObject, status: Json): void {
    o.status = status;
    store.put(resource, o);
  }

  function waitingStatuses(o: KubeObject, reason: string): Json[] {
    return asArray((o.spec as Json).containers).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason } },
    }));
  }

  function podStatus(o: KubeObject, phase: string, extra: Json = {}): Json {
    const previous = (o.status ?? {}) as Json;
    const ready = phase === 'Running' ? 'True' : 'False';
    const at = kubeTime(now());
    return {
      phase,
      conditions: [
        {
          type: 'PodScheduled',
          status: 'True',

          lastTransitionTime: previous.startTime ?? at,
        },
        { type: 'Ready', status: ready, lastTransitionTime: at },
        { type: 'ContainersReady', status: ready, lastTransitionTime: at },
      ],
      hostIP: '10.0.0.1',
      ...(previous.podIP === undefined ? {} : { podIP: previous.podIP }),
      startTime: previous.startTime ?? at,
      ...extra,
    };
  }

  /** The pod's secret volumes as files at their mount paths; undefined while a secret or key is missing. */
  function mountedFiles(o: KubeObject): Map<string, string> | undefined {
    const spec = o.spec as Json;
    const files = new Map<string, string>();
    for (const volume of asArray(spec.volumes)) {
      const source = isStringMap(volume.secret) ? volume.secret : undefined;
      if (source === undefined) continue;
      const secret = store.get('secrets', o.metadata.namespace, String(source.secretName ?? ''));
      if (secret === undefined) {
        if (source.optional === true) continue;
        return undefined;
      }
      const data = (secret.data ?? {}) as Record<string, string>;
      const items = asArray(source.items);
      const entries =
        items.length === 0
          ? Object.keys(data).map((k) => [k, k] as const)
          : items.map((i) => [String(i.key), String(i.path)] as const);
      const content = new Map<string, string>();
      for (const [key, path] of entries) {
        const value = data[key];
        if (value === undefined) {
          if (source.optional === true) continue;
          return undefined;
        }
        content.set(path, Buffer.from(value, 'base64').toString('utf8'));
      }
      for (const container of asArray(spec.containers)) {
        for (const mount of asArray(container.volumeMounts)) {
          if (mount.name !== volume.name) continue;
          const at = String(mount.mountPath).replace(/\/+$/, '');
          if (typeof mount.subPath === 'string' && mount.subPath !== '') {
            const single = content.get(mount.subPath);
            if (single !== undefined) files.set(at, single);
          } else for (const [path, text] of content) files.set(`${at}/${path}`, text);
        }
      }
    }
    return files;
  }

  function terminated(o: KubeObject, exitCode: number, reason: string, message?: string): Json[] {
    const startedAt = ((o.status as Json).startTime as string | undefined) ?? kubeTime(now());
    return asArray((o.spec as Json).containers).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${String(c.image)}@sha256:${'0'.repeat(64)}`,
      containerID: `containerd://${o.metadata.uid.replaceAll('-', '')}`,
      ready: false,
      restartCount: 0,
      started: false,
      state: {
        terminated: {
          exitCode,
          reason,
          startedAt,
          finishedAt: kubeTime(now()),
          ...(message === undefined ? {} : { message }),
        },
      },
    }));
  }

  function podExited(namespace: string, name: string, uid: string, code: number): void {
    const o = store.get('pods', namespace, name);
    if (o === undefined || o.metadata.uid !== uid || isTerminal(o) || runtime(o).pinned) return;
    const phase = code === 0 ? 'Succeeded' : 'Failed';
    setStatus(
      'pods',
      o,
      podStatus(o, phase, { containerStatuses: terminated(o, code, code === 0 ? 'Completed' : 'Error') }),
    );
  }

  /** The kubelet's work on one pod: schedule, wait for secrets, run, enforce the deadline. */
  function syncPod(o: KubeObject): void {
    const state = runtime(o);
    if (
      kubelet === undefined ||
      state.pinned ||
      isLauncher(o) ||
      isTerminal(o) ||
      o.metadata.deletionTimestamp !== undefined
    )
      return;
    const spec = o.spec as Json;
    const status = (o.status ?? {}) as Json;
    const deadline = spec.activeDeadlineSeconds as number | undefined;
    if (
      deadline !== undefined &&
      status.startTime !== undefined &&
      now() >= Date.parse(String(status.startTime)) + deadline * 1000
    ) {
      void kubelet.stop(o.metadata.uid);
      setStatus('pods', o, {
        ...podStatus(o, 'Failed', { containerStatuses: terminated(o, 137, 'Error') }),
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
      });
      return;
    }
    if (spec.nodeName === undefined) {
      spec.nodeName = NODE_NAME;
      setStatus(
        'pods',
        o,
        podStatus(o, 'Pending', { containerStatuses: waitingStatuses(o, 'ContainerCreating') }),
      );
    }
    if (state.started) return;
    const files = mountedFiles(o);
    if (files === undefined) return;
    state.started = true;
    const container = asArray(spec.containers)[0] ?? {};
    const commandLine = [
      ...((container.command as string[] | undefined) ?? []),
      ...((container.args as string[] | undefined) ?? []),
    ];
    const running = (text: Json) =>
      setStatus('pods', o, podStatus(o, 'Running', { podIP: `10.244.0.${nextIp++ % 250}`, ...text }));
    try {
      const plan = podBootPlan(files, commandLine, kubelet.fetchInterval);
      running({
        containerStatuses: asArray(spec.containers).map((c) => ({
          name: c.name,
          image: c.image,
          imageID: `${String(c.image)}@sha256:${'0'.repeat(64)}`,
          containerID: `containerd://${o.metadata.uid.replaceAll('-', '')}`,
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: kubeTime(now()) } },
        })),
      });
      const { namespace, name, uid } = o.metadata;
      kubelet.start(uid, plan, (code) => podExited(namespace, name, uid, code));
    } catch (e) {
      if (!(e instanceof BootPlanError)) throw e;
      kubelet.log(o.metadata.uid, `fake kubelet: ${e.message}`);
      setStatus(
        'pods',
        o,
        podStatus(o, 'Failed', { containerStatuses: terminated(o, 1, 'Error', e.message) }),
      );
    }
  }

  function vmiStatus(o: KubeObject, phase: string, conditions: Json[]): Json {
    const previous = asArray(((o.status ?? {}) as Json).phaseTransitionTimestamps);
    const transitions =
      previous.at(-1)?.phase === phase
        ? previous
        : [...previous, { phase, phaseTransitionTimestamp: kubeTime(now()) }];
    return {
      phase,
      conditions,
      phaseTransitionTimestamps: transitions,
      ...(['Running', 'Succeeded', 'Failed'].includes(phase) ? { nodeName: NODE_NAME } : {}),
    };
  }

  function vmiUserData(o: KubeObject): string | undefined | null {
    const volumes = asArray((o.spec as Json).volumes);
    const source = volumes.map((v) => v.cloudInitNoCloud).find(isStringMap);
    if (source === undefined) return null;
    if (typeof source.userData === 'string') return source.userData;
    if (typeof source.userDataBase64 === 'string')
      return Buffer.from(source.userDataBase64, 'base64').toString('utf8');
    const ref = isStringMap(source.secretRef) ? String(source.secretRef.name ?? '') : '';
    const data = (store.get('secrets', o.metadata.namespace, ref)?.data ?? {}) as Record<string, string>;
    const value = data.userdata ?? data.userData;
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  }

  function vmiEnded(namespace: string, name: string, uid: string): void {
    const o = store.get('virtualmachineinstances', namespace, name);
    if (o === undefined || o.metadata.uid !== uid || isTerminal(o) || runtime(o).pinned) return;
    // The guest powered itself off: the VMI ends Succeeded, its launcher pod completes.
    setStatus('virtualmachineinstances', o, vmiStatus(o, 'Succeeded', []));
    const launcher = store.get('pods', namespace, runtime(o).launcher ?? '');
    if (launcher !== undefined)
      setStatus(
        'pods',
        launcher,
        podStatus(launcher, 'Succeeded', { containerStatuses: terminated(launcher, 0, 'Completed') }),
      );
  }

  /** virt-controller and virt-handler on one VMI: finalizer, launcher pod (or FailedCreate), boot, run. */
  function syncVmi(o: KubeObject): void {
    const state = runtime(o);
    if (kubelet === undefined || state.pinned || isTerminal(o) || o.metadata.deletionTimestamp !== undefined)
      return;
    const { namespace, name, uid } = o.metadata;
    if (!(o.metadata.finalizers ?? []).includes(VMI_FINALIZER)) {
      o.metadata.finalizers = [...(o.metadata.finalizers ?? []), VMI_FINALIZER];
      store.put('virtualmachineinstances', o);
    }
    if (state.launcher !== undefined && store.get('pods', namespace, state.launcher) === undefined) {
      void kubelet.stop(uid);
      setStatus('virtualmachineinstances', o, vmiStatus(o, 'Failed', []));
      return;
    }
    if (state.launcher === undefined) {
      const podName = `virt-launcher-${name}-${nameSuffix()}`;
      const refusal = quotaRefusal(namespace, podName);
      if (refusal !== undefined) {
        const current = asArray((o.status as Json | undefined)?.conditions)[0];
        if (current?.reason === 'FailedCreate') return;
        setStatus(
          'virtualmachineinstances',
          o,
          vmiStatus(o, 'Pending', [
            {
              type: 'Synchronized',
              status: 'False',
              reason: 'FailedCreate',
              message: `failed to create virtual machine pod: ${refusal}`,

              lastTransitionTime: kubeTime(now()),
            },
          ]),
        );
        return;
      }
      const pod: KubeObject = {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: {
          name: podName,
          namespace,
          uid: newUid(),
          resourceVersion: '',
          creationTimestamp: kubeTime(now()),
          labels: {
            ...(o.metadata.labels ?? {}),
            'kubevirt.io': 'virt-launcher',
            'kubevirt.io/created-by': uid,
          },
          ownerReferences: [
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachineInstance',
              name,
              uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          containers: [{ name: 'compute', image: 'quay.io/kubevirt/virt-launcher:v1.9.0' }],
          restartPolicy: 'Never',
          nodeName: NODE_NAME,
          terminationGracePeriodSeconds: DEFAULT_GRACE_SECONDS,
        },
        status: {},
      };
      pod.status = podStatus(pod, 'Pending', {
        containerStatuses: waitingStatuses(pod, 'ContainerCreating'),
      });
      store.put('pods', pod);
      state.launcher = podName;
      setStatus('virtualmachineinstances', o, vmiStatus(o, 'Scheduling', []));
    }
    if (state.started) return;
    const userData = vmiUserData(o);
    if (userData === undefined) return;
    state.started = true;
    const launcher = store.get('pods', namespace, state.launcher);
    if (launcher !== undefined) setStatus('pods', launcher, podStatus(launcher, 'Running'));
    setStatus(
      'virtualmachineinstances',
      o,
      vmiStatus(o, 'Running', [{ type: 'Ready', status: 'True', lastTransitionTime: kubeTime(now()) }]),
    );
    try {
      if (userData === null) throw new BootPlanError('the VMI has no cloudInitNoCloud volume');
      kubelet.start(uid, vmiBootPlan(userData, kubelet.fetchInterval), () => vmiEnded(namespace, name, uid));
    } catch (e) {
      if (!(e instanceof BootPlanError)) throw e;
      // The guest boots and runs nothing: like a real VM, it stays Running until deleted.
      kubelet.log(uid, `fake kubelet: ${e.message}`);
    }
  }

  /** Moves everything due at the current virtual time; `force` ends every termination now. */
  function sync(force = false): void {
    for (let round = 0; round < 20; round++) {
      let changed = finishDeletions(force);
      changed = collectGarbage() || changed;
      if (!changed) break;
    }
    for (const pod of store.list('pods')) syncPod(pod);
    for (const vmi of store.list('virtualmachineinstances')) syncVmi(vmi);
  }

  return {
    now,
    newUid,
    nameSuffix,
    store,
    namespaces,
    quotas,
    kubelet,
    runtime,
    quotaRefusal,
    deleteObject,
    sync,
    pin(resource: FakeKubeResource, o: KubeObject, status: Json): void {
      runtime(o).pinned = true;
      setStatus(resource, o, status);
    },
  };
}

export type Cluster = ReturnType<typeof createCluster>;
