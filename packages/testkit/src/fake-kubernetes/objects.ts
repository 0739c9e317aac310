import type { KubeMetadata, KubeObject } from './types.js';
import { isStringMap } from './validate.js';

type Json = Record<string, unknown>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SA_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Only the metadata fields a client may set, plus the server's own. */
function metadataOf(meta: Json): KubeMetadata {
  const kept: Json = {};
  for (const key of [
    'name',
    'generateName',
    'namespace',
    'labels',
    'annotations',
    'ownerReferences',
    'finalizers',
  ]) {
    if (meta[key] !== undefined) kept[key] = meta[key];
  }
  return {
    ...kept,
    uid: meta.uid,
    resourceVersion: '',
    creationTimestamp: meta.creationTimestamp,
  } as KubeMetadata;
}

/**
 * A Secret's data decoded: `data` (base64, strictly, as Go's encoding/json does) with `stringData`
 * merged over it; a string is the decoding error.
 */
export function secretData(body: Json): Record<string, Buffer> | string {
  const out: Record<string, Buffer> = {};
  const data = isStringMap(body.data) ? body.data : {};
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
      return `illegal base64 data at input byte ${typeof value === 'string' ? value.search(/[^A-Za-z0-9+/=]/) : 0}`;
    }
    out[key] = Buffer.from(value, 'base64');
  }
  const stringData = isStringMap(body.stringData) ? body.stringData : {};
  for (const [key, value] of Object.entries(stringData)) out[key] = Buffer.from(String(value), 'utf8');
  return out;
}

export function secretObject(body: Json, meta: Json, data: Record<string, Buffer>): KubeObject {
  return {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: metadataOf(meta),
    ...(Object.keys(data).length === 0
      ? {}
      : { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])) }),
    type: typeof body.type === 'string' && body.type !== '' ? body.type : 'Opaque',
    ...(body.immutable === undefined ? {} : { immutable: body.immutable }),
  };
}

function imagePullPolicy(image: string): string {
  const tag = image.includes('@') ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** The pod's QoS class from its containers' requests and limits (k/k `qos.GetPodQOS`, simplified). */
function qosClass(containers: Json[]): string {
  const resources = containers.map((c) => (isStringMap(c.resources) ? c.resources : {}));
  const any = resources.some((r) => isStringMap(r.requests) || isStringMap(r.limits));
  if (!any) return 'BestEffort';
  const guaranteed = resources.every((r) => {
    const limits = isStringMap(r.limits) ? r.limits : {};
    const requests = isStringMap(r.requests) ? r.requests : limits;
    return ['cpu', 'memory'].every((k) => limits[k] !== undefined && requests[k] === limits[k]);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * A pod as admission and defaulting leave it: the container defaults, and, unless
 * `automountServiceAccountToken: false`, the ServiceAccount admission's token volume in every
 * container: what a job could read if the provider forgot to turn it off.
 */
export function podObject(body: Json, meta: Json, suffix: () => string): KubeObject {
  const spec = structuredClone(body.spec) as Json;
  const volumes = (Array.isArray(spec.volumes) ? (spec.volumes as Json[]) : []).map((v) =>
    isStringMap(v.secret) && v.secret.defaultMode === undefined
      ? { ...v, secret: { ...v.secret, defaultMode: 420 } }
      : v,
  );
  const containers = (spec.containers as Json[]).map(
    (c): Json => ({
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: imagePullPolicy(String(c.image)),
      resources: {},
      ...c,
    }),
  );
  if (spec.automountServiceAccountToken !== false) {
    const name = `kube-api-access-${suffix()}`;
    volumes.push({
      name,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
            },
          },
        ],
      },
    });
    for (const c of containers) {
      const mounts = Array.isArray(c.volumeMounts) ? (c.volumeMounts as Json[]) : [];
      c.volumeMounts = [...mounts, { name, readOnly: true, mountPath: SA_MOUNT }];
    }
  }
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: metadataOf(meta),
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      securityContext: {},
      ...spec,
      containers,
      ...(volumes.length === 0 ? {} : { volumes }),
    },
    status: { phase: 'Pending', qosClass: qosClass(containers) },
  };
}

/** A VMI as stored: the spec as sent; KubeVirt's controllers fill in the status later. */
export function vmiObject(body: Json, meta: Json): KubeObject {
  return {
    kind: 'VirtualMachineInstance',
    apiVersion: 'kubevirt.io/v1',
    metadata: { ...metadataOf(meta), generation: 1 },
    spec: structuredClone(body.spec) as Json,
    status: {},
  };
}
