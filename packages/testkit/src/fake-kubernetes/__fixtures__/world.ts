import { podBootstrapFromUserData, renderUserData } from '@forgejo-fleet/cloud-init';
import { type RunningFakeForgejo, startFakeForgejo } from '../../fake-forgejo/server.js';
import type { RunningFakeKubernetes } from '../server.js';

// biome-ignore lint/suspicious/noExplicitAny: tests reach into API answers of many shapes
export type Json = Record<string, any>;

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Json;
}

/** One request to the fake API server, as a client would send it. */
export async function call(
  kube: RunningFakeKubernetes,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string; raw?: string } = {},
): Promise<Reply> {
  const res = await fetch(`${kube.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${opts.token ?? kube.token}`, 'content-type': 'application/json' },
    ...(opts.raw !== undefined
      ? { body: opts.raw }
      : body === undefined
        ? {}
        : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // A plain-text answer (the 429 of the request filters).
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const PODS = '/api/v1/namespaces/default/pods';
export const SECRETS = '/api/v1/namespaces/default/secrets';
export const VMIS = '/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances';

/** A plain pod, no secrets. */
export function plainPod(name: string, extra: Json = {}): Json {
  return {
    metadata: { name, labels: { app: 'x' }, ...(extra.metadata ?? {}) },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], ...(extra.spec ?? {}) },
  };
}

export const b64 = (text: string) => Buffer.from(text).toString('base64');

export function ownedBy(o: Json): Json[] {
  return [
    { apiVersion: o.apiVersion ?? 'v1', kind: o.kind ?? 'Pod', name: o.metadata.name, uid: o.metadata.uid },
  ];
}

/** A runner pod as the kubernetes provider builds it (contract 2), from renderUserData's output. */
export function runnerPod(name: string, userData: string, labels: Record<string, string> = {}) {
  const boot = podBootstrapFromUserData(userData);
  const pod = {
    metadata: { name, labels: { 'forgejo-fleet/fleet': 'test', ...labels } },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: boot.deadlineSeconds,
      containers: [
        {
          name: 'runner',
          image: 'forgejo-fleet/runner-pod:test',
          command: [...boot.command],
          env: Object.entries(boot.env).map(([n, value]) => ({ name: n, value })),
          volumeMounts: [{ name: 'bootstrap', mountPath: boot.mountPath, readOnly: true }],
        },
      ],
      volumes: [{ name: 'bootstrap', secret: { secretName: name, defaultMode: 256 } }],
    },
  };
  const secret = (owner: Json) => ({
    metadata: { name, ownerReferences: ownedBy(owner) },
    data: Object.fromEntries(Object.entries(boot.files).map(([k, v]) => [k, b64(v)])),
  });
  return { boot, pod, secret };
}

/** A runner VMI (kubevirt flavour): user-data in a Secret named by cloudInitNoCloud.secretRef. */
export function runnerVmi(name: string, labels: Record<string, string> = {}) {
  return {
    metadata: { name, labels: { 'forgejo-fleet/fleet': 'test', ...labels } },
    spec: {
      domain: {
        devices: {
          disks: [
            { name: 'root', disk: { bus: 'virtio' } },
            { name: 'cloudinit', disk: { bus: 'virtio' } },
          ],
        },
        memory: { guest: '2Gi' },
      },
      volumes: [
        { name: 'root', containerDisk: { image: 'quay.io/containerdisks/debian:12' } },
        { name: 'cloudinit', cloudInitNoCloud: { secretRef: { name } } },
      ],
    },
  };
}

/** A fake Forgejo with org `acme`, repo `acme/app`, and a way to make a job plus the user-data that runs it. */
export async function startForgejoWorld() {
  const forgejo: RunningFakeForgejo = await startFakeForgejo();
  forgejo.addUser({ name: 'alice' });
  forgejo.addOrg({ name: 'acme', owners: ['alice'] });
  forgejo.addRepo({ owner: 'acme', name: 'app' });
  const pat = forgejo.addToken({ user: 'alice', scopes: ['write:organization'] });
  let n = 0;
  return {
    forgejo,
    /** Enqueues a job and registers its ephemeral runner; the user-data runs exactly that job. */
    async job(jobTimeoutSeconds = 600) {
      const job = forgejo.enqueueJob({ repo: 'acme/app', runsOn: ['pod'] });
      const res = await fetch(`${forgejo.url}/api/v1/orgs/acme/actions/runners`, {
        method: 'POST',
        headers: { Authorization: `token ${pat}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `pod-${++n}`, ephemeral: true }),
      });
      const reg = (await res.json()) as { id: number; uuid: string; token: string };
      const userData = renderUserData({
        instanceUrl: `${forgejo.url}/`,
        runner: { uuid: reg.uuid, token: reg.token, name: `ff-pod-${n}` },
        handle: job.handle,
        labels: ['pod:host'],
        install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
        jobTimeoutSeconds,
      });
      return { job, reg, userData };
    },
    close: () => forgejo.close(),
  };
}

/** Polls `check` (driving the fake with `tick`) until it holds; the runner works on real I/O. */
export async function until(kube: RunningFakeKubernetes, check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    kube.tick();
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}
