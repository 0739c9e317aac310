import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApi } from './api.js';
import { createCluster } from './cluster.js';
import { createRoutes, type Faults } from './routes.js';
import type {
  FakeKubeResource,
  FakeKubernetesCall,
  FakeKubernetesOptions,
  FakeQuota,
  FaultRule,
  KubeObject,
} from './types.js';

export const FAKE_KUBERNETES_TOKEN = 'fake-kube-token';

/** A fake Kubernetes API server (core v1 pods and secrets, KubeVirt VMIs) on 127.0.0.1, random port. */
export interface RunningFakeKubernetes {
  /** `http://127.0.0.1:PORT`: the cluster's server URL (no trailing slash). */
  readonly url: string;
  readonly token: string;
  /** Copies of the objects of a namespace (every namespace when left out), by name. */
  pods(namespace?: string): KubeObject[];
  secrets(namespace?: string): KubeObject[];
  vmis(namespace?: string): KubeObject[];
  object(resource: FakeKubeResource, namespace: string, name: string): KubeObject | undefined;
  /** A Secret's data decoded to text. */
  secretData(namespace: string, name: string): Record<string, string> | undefined;
  addNamespace(namespace: string): void;
  /** Sets (or with undefined removes) a namespace's pod-count ResourceQuota. */
  setQuota(namespace: string, quota: FakeQuota | undefined): void;
  /** Replaces an object's status and pins it: the kubelet and controllers leave it alone from now on. */
  setStatus(
    resource: FakeKubeResource,
    namespace: string,
    name: string,
    status: Record<string, unknown>,
  ): void;
  /** What the fake runner printed in a pod or VMI (and why the kubelet could not start it). */
  logs(resource: FakeKubeResource, namespace: string, name: string): string[];
  injectFault(rule: FaultRule): void;
  /** The next `n` creates make their object, then reset the connection instead of answering. */
  loseCreateResponses(n?: number): void;
  clearFaults(): void;
  /** Every continue token handed out so far expires (the next page of each answers 410). */
  expireContinueTokens(): void;
  /** Moves whatever is due at the current virtual time (deletions, GC, deadlines, kubelet). */
  tick(): void;
  /** Ends every termination now, collects garbage, and waits for the runners told to stop. */
  settle(): Promise<void>;
  calls(): FakeKubernetesCall[];
  close(): Promise<void>;
}

export async function startFakeKubernetes(
  options: FakeKubernetesOptions = {},
): Promise<RunningFakeKubernetes> {
  const cluster = createCluster(options);
  const api = createApi(cluster, {
    ...(options.continueTokenTtlSeconds === undefined
      ? {}
      : { continueTokenTtlSeconds: options.continueTokenTtlSeconds }),
    ...(options.maxPageItems === undefined ? {} : { maxPageItems: options.maxPageItems }),
  });
  const token = options.token ?? FAKE_KUBERNETES_TOKEN;
  const faults: Faults = { rules: [], loseCreates: 0 };
  const calls: FakeKubernetesCall[] = [];
  const server = createServer(
    createRoutes({ cluster, api, token, faults, calls, onAnswer: options.onAnswer }),
  );
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { store } = cluster;

  function find(resource: FakeKubeResource, namespace: string, name: string): KubeObject {
    const found = store.get(resource, namespace, name);
    if (found === undefined) throw new Error(`no ${resource} ${namespace}/${name}`);
    return found;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    pods: (namespace) => structuredClone(store.list('pods', namespace)),
    secrets: (namespace) => structuredClone(store.list('secrets', namespace)),
    vmis: (namespace) => structuredClone(store.list('virtualmachineinstances', namespace)),
    object: (resource, namespace, name) => structuredClone(store.get(resource, namespace, name)),
    secretData(namespace, name) {
      const secret = store.get('secrets', namespace, name);
      if (secret === undefined) return undefined;
      const data = (secret.data ?? {}) as Record<string, string>;
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    },
    addNamespace: (namespace) => cluster.namespaces.add(namespace),
    setQuota(namespace, quota) {
      if (quota === undefined) cluster.quotas.delete(namespace);
      else cluster.quotas.set(namespace, quota);
    },
    setStatus: (resource, namespace, name, status) =>
      cluster.pin(resource, find(resource, namespace, name), status),
    logs: (resource, namespace, name) =>
      cluster.kubelet?.logs(find(resource, namespace, name).metadata.uid) ?? [],
    injectFault: (rule) => faults.rules.push({ ...rule }),
    loseCreateResponses(n = 1) {
      faults.loseCreates += n;
    },
    clearFaults() {
      faults.rules.length = 0;
      faults.loseCreates = 0;
    },
    expireContinueTokens: () => api.expireContinueTokens(),
    tick: () => cluster.sync(),
    async settle() {
      cluster.sync(true);
      await cluster.kubelet?.stopped();
      cluster.sync(true);
    },
    calls: () => [...calls],
    async close() {
      await cluster.kubelet?.close();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
