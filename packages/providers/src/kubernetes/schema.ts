import { z } from 'zod';

/** The parts of the API's answers the provider reads (specs: kubernetes-core-v1-pods, kubevirt-vmi). */

const StringMap = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});

export const ObjectMeta = z.object({
  name: z.string(),
  uid: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().nullish(),
  labels: StringMap,
  annotations: StringMap,
  ownerReferences: z
    .array(z.object({ apiVersion: z.string(), kind: z.string(), name: z.string(), uid: z.string() }))
    .nullish()
    .transform((r) => r ?? []),
});

const Condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().nullish(),
  message: z.string().nullish(),
});

/** Only a waiting container's reason is read: why a pod is still Pending. */
const ContainerStatus = z.object({
  state: z
    .object({ waiting: z.object({ reason: z.string().nullish(), message: z.string().nullish() }).nullish() })
    .nullish(),
});

/** A Pod or a VirtualMachineInstance: both have a phase and conditions. */
export const KubeObject = z.object({
  metadata: ObjectMeta,
  status: z
    .object({
      phase: z.string().nullish(),
      conditions: z
        .array(Condition)
        .nullish()
        .transform((c) => c ?? []),
      containerStatuses: z
        .array(ContainerStatus)
        .nullish()
        .transform((c) => c ?? []),
    })
    .nullish(),
});
export type KubeObject = z.infer<typeof KubeObject>;

export const KubeList = z.object({
  metadata: z.object({ continue: z.string().nullish() }).nullish(),
  items: z
    .array(KubeObject)
    .nullish()
    .transform((i) => i ?? []),
});
export type KubeList = z.infer<typeof KubeList>;

export const SecretObject = z.object({ metadata: ObjectMeta });

/** DELETE answers the object (still terminating) or a Status; either way only success matters. */
export const Anything = z.unknown();
