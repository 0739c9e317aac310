import type { z } from 'zod';
import type { PodBootstrap } from './bootstrap.js';
import type { KubernetesPodTemplate, KubernetesVmTemplate, Toleration } from './config-schema.js';
import type { Metadata } from './labels.js';
import type { KubeObject } from './schema.js';

/**
 * The objects the provider sends. Nothing here holds a secret except the Secret's data: the pod
 * reads its token from the mounted Secret, the VMI its user-data through `secretRef`.
 */

type PodTemplate = z.output<typeof KubernetesPodTemplate>;
type VmTemplate = z.output<typeof KubernetesVmTemplate>;

/** Read-only for the file's owner (0400): "JSON requires decimal values" (spec, SecretVolumeSource). */
export const SECRET_FILE_MODE = 256;
const BOOT_VOLUME = 'bootstrap';
const CONTAINER = 'runner';

export interface ObjectRef {
  readonly name: string;
  readonly namespace: string;
  readonly metadata: Metadata;
}

function meta(ref: ObjectRef) {
  return {
    name: ref.name,
    namespace: ref.namespace,
    labels: ref.metadata.labels,
    annotations: ref.metadata.annotations,
  };
}

function tolerations(list: readonly Toleration[]) {
  return list.map((t) => ({
    ...(t.key === undefined ? {} : { key: t.key }),
    ...(t.operator === undefined ? {} : { operator: t.operator }),
    ...(t.value === undefined ? {} : { value: t.value }),
    ...(t.effect === undefined ? {} : { effect: t.effect }),
    ...(t.toleration_seconds === undefined ? {} : { tolerationSeconds: t.toleration_seconds }),
  }));
}

/** The Secret the Pod mounts or the VMI boots from; named after its owner, with an ownerReference. */
export function secretName(ownerName: string): string {
  return `${ownerName}-boot`;
}

/**
 * One runner pod (notes/kubernetes.md §4): never restarted (`one-job` would run again with a
 * spent token), no service-account token and no service links for job code to find, a deadline
 * as backstop, the bootstrap Secret mounted read-only at 0400. It waits in ContainerCreating until
 * the Secret, created right after it, exists.
 */
export function podManifest(ref: ObjectRef, template: PodTemplate, boot: PodBootstrap) {
  // Passes the `restricted` Pod Security level (docs/providers.md). The runner image runs as uid 1001
  // (images/runner-pod), so runAsNonRoot holds by default; only an explicit `run_as_user: 0` (a root
  // image, which `restricted` refuses anyway) turns it off, rather than failing every pod with
  // CreateContainerConfigError.
  const securityContext = {
    runAsNonRoot: template.run_as_user !== 0,
    ...(template.run_as_user === undefined ? {} : { runAsUser: template.run_as_user }),
    ...(template.fs_group === undefined ? {} : { fsGroup: template.fs_group }),
    seccompProfile: { type: 'RuntimeDefault' },
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(ref),
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: boot.deadlineSeconds,
      ...(Object.keys(template.node_selector).length === 0 ? {} : { nodeSelector: template.node_selector }),
      ...(template.tolerations.length === 0 ? {} : { tolerations: tolerations(template.tolerations) }),
      ...(template.runtime_class_name === undefined ? {} : { runtimeClassName: template.runtime_class_name }),
      ...(template.priority_class_name === undefined
        ? {}
        : { priorityClassName: template.priority_class_name }),
      ...(template.image_pull_secrets.length === 0
        ? {}
        : { imagePullSecrets: template.image_pull_secrets.map((name) => ({ name })) }),
      securityContext,
      containers: [
        {
          name: CONTAINER,
          image: template.image,
          command: [...boot.command],
          env: Object.entries(boot.env).map(([name, value]) => ({ name, value })),
          resources: {
            ...(Object.keys(template.resources.requests).length === 0
              ? {}
              : { requests: template.resources.requests }),
            ...(Object.keys(template.resources.limits).length === 0
              ? {}
              : { limits: template.resources.limits }),
          },
          volumeMounts: [{ name: BOOT_VOLUME, mountPath: boot.mountPath, readOnly: true }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      volumes: [
        {
          name: BOOT_VOLUME,
          secret: { secretName: secretName(ref.name), defaultMode: SECRET_FILE_MODE },
        },
      ],
    },
  };
}

/**
 * One KubeVirt VM (notes/kubernetes.md §5): a throw-away containerDisk root and the cloud-init
 * user-data, unchanged, from the Secret (`secretRef`: inline user-data is capped at 2 KiB and
 * readable by anyone who may get VMIs).
 */
export function vmiManifest(ref: ObjectRef, template: VmTemplate) {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: meta(ref),
    spec: {
      domain: {
        cpu: { cores: template.cpu_cores },
        memory: { guest: template.memory },
        devices: {
          disks: [
            { name: 'root', disk: { bus: 'virtio' } },
            { name: 'cloudinit', disk: { bus: 'virtio' } },
          ],
          interfaces: [{ name: 'default', masquerade: {} }],
        },
      },
      networks: [{ name: 'default', pod: {} }],
      ...(Object.keys(template.node_selector).length === 0 ? {} : { nodeSelector: template.node_selector }),
      ...(template.tolerations.length === 0 ? {} : { tolerations: tolerations(template.tolerations) }),
      volumes: [
        { name: 'root', containerDisk: { image: template.image } },
        { name: 'cloudinit', cloudInitNoCloud: { secretRef: { name: secretName(ref.name) } } },
      ],
    },
  };
}

/** The owner's Secret: `files` as data, garbage-collected with its owner. */
export function secretManifest(
  owner: { readonly apiVersion: string; readonly kind: string; readonly object: KubeObject },
  namespace: string,
  labels: Readonly<Record<string, string>>,
  files: Readonly<Record<string, string>>,
) {
  const { name, uid } = owner.object.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: secretName(name),
      namespace,
      labels,
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name, uid }],
    },
    data: Object.fromEntries(
      Object.entries(files).map(([key, text]) => [key, Buffer.from(text, 'utf8').toString('base64')]),
    ),
  };
}
