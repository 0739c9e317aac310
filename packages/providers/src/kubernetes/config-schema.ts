import { Duration } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { CloudCallTimeouts, type ProviderSchema } from '../config-schema.js';

// Kubernetes' own name rules (k8s.io/apimachinery util/validation), so a bad name fails at load
// with the key named instead of as a 422 on the first create.
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** A resource.Quantity: `500m`, `2`, `4Gi`, `1e3`. */
const QUANTITY = /^[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[numkKMGTPE]i?)?$/;

const DnsLabel = (what: string) =>
  z.string().regex(DNS_LABEL, `expected ${what}: lowercase letters, digits and '-', at most 63`);
const DnsSubdomain = (what: string) =>
  z.string().regex(DNS_SUBDOMAIN, `expected ${what}: lowercase letters, digits, '-' and '.', at most 253`);

/** A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63. */
const LabelKey = z.string().refine((key) => {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  return (prefix === undefined || DNS_SUBDOMAIN.test(prefix)) && LABEL_NAME.test(key.slice(slash + 1));
}, 'expected a label key such as kubernetes.io/arch or disktype');

const Quantity = z
  .union([z.number().nonnegative(), z.string()])
  .transform((value) => String(value))
  .refine((value) => QUANTITY.test(value), 'expected a quantity such as 500m, 2 or 4Gi');

/** `cpu`, `memory`, `ephemeral-storage`, `nvidia.com/gpu`, … → quantity. */
const ResourceList = z.record(LabelKey, Quantity);

const NodeSelector = z
  .record(LabelKey, z.string().regex(LABEL_VALUE, 'expected a label value (at most 63 of [A-Za-z0-9._-])'))
  .default({})
  .describe('node labels the runner must be scheduled on (nodeSelector)');

/** A taint toleration, in the config's snake_case; written to the object as Kubernetes spells it. */
const Toleration = z
  .strictObject({
    key: LabelKey.optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().max(63).optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    toleration_seconds: z.number().int().min(0).max(31_536_000).optional(),
  })
  .refine((t) => !(t.operator === 'Exists' && t.value !== undefined), {
    message: 'operator Exists takes no value',
    path: ['value'],
  })
  .refine((t) => t.key !== undefined || t.operator === 'Exists', {
    message: 'a toleration without a key needs operator: Exists',
    path: ['operator'],
  });
export type Toleration = z.infer<typeof Toleration>;

const Tolerations = z.array(Toleration).max(50).default([]).describe('taints the runner tolerates');

/** The pod flavour's template: one runner container per job. */
export const KubernetesPodTemplate = z.strictObject({
  image: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^\S+$/, 'expected an image reference without spaces')
    .describe('runner image (images/runner-pod) with forgejo-runner and the bootstrap'),
  resources: z
    .strictObject({
      requests: ResourceList.default({ cpu: '1', memory: '2Gi' }).describe(
        'requested per runner pod; a namespace ResourceQuota on cpu/memory refuses pods without them',
      ),
      limits: ResourceList.default({}).describe('limits per runner pod'),
    })
    .prefault({}),
  node_selector: NodeSelector,
  tolerations: Tolerations,
  runtime_class_name: DnsSubdomain('a RuntimeClass name such as gvisor or kata')
    .optional()
    .describe('RuntimeClass for VM-grade isolation (gVisor, Kata Containers)'),
  priority_class_name: DnsSubdomain('a PriorityClass name').optional(),
  image_pull_secrets: z
    .array(DnsSubdomain('a Secret name'))
    .max(20)
    .default([])
    .describe('Secrets in the namespace for pulling the runner image'),
  run_as_user: z
    .number()
    .int()
    .min(0)
    .max(2_147_483_647)
    .optional()
    .describe("the runner container's user id (the image's default when absent)"),
  fs_group: z
    .number()
    .int()
    .min(0)
    .max(2_147_483_647)
    .optional()
    .describe('group that may read the mounted bootstrap files; a non-root runner needs it'),
});

/** The KubeVirt flavour's template: one VirtualMachineInstance per job. */
export const KubernetesVmTemplate = z.strictObject({
  image: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^\S+$/, 'expected an image reference without spaces')
    .describe('containerDisk image holding the VM root disk (with cloud-init)'),
  cpu_cores: z.number().int().min(1).max(256).default(2),
  memory: Quantity.default('4Gi').describe('guest memory'),
  node_selector: NodeSelector,
  tolerations: Tolerations,
});

export const FLAVORS = ['pod', 'kubevirt'] as const;
export type Flavor = (typeof FLAVORS)[number];

const KubeconfigFile = z
  .string()
  .min(1, 'expected a file path')
  .describe("kubeconfig file; absent: the dispatcher's in-cluster service account");
const Context = z.string().min(1).describe("kubeconfig context to use (default: the file's current-context)");

/** A scope's own cluster credentials: another kubeconfig (and context). */
export const KubernetesCredentials = z.strictObject({
  kubeconfig_file: KubeconfigFile,
  context: Context.optional(),
});

export const KubernetesProvider = z
  .strictObject({
    kind: z.literal('kubernetes'),
    flavor: z.enum(FLAVORS).describe('pod: a runner pod per job; kubevirt: a VirtualMachineInstance per job'),
    kubeconfig_file: KubeconfigFile.optional(),
    context: Context.optional(),
    namespace: DnsLabel('a namespace name').describe(
      'namespace of the runner pods/VMIs and their Secrets (give them one of their own)',
    ),
    pod: KubernetesPodTemplate.optional().describe('template of flavor pod'),
    kubevirt: KubernetesVmTemplate.optional().describe('template of flavor kubevirt'),
    max_instances: z.number().int().min(1).default(20),
    create_concurrency: z.number().int().min(1).max(100).default(5),
    cooldown: Duration({ min: 0 }).prefault('5m'),
    hourly_price: z
      .number()
      .nonnegative()
      .optional()
      .describe('cost of one runner per hour, for money budgets'),
    call_timeouts: CloudCallTimeouts,
  })
  .superRefine((config, ctx) => {
    if (config.context !== undefined && config.kubeconfig_file === undefined)
      ctx.addIssue({ code: 'custom', path: ['context'], message: 'context needs kubeconfig_file' });
    for (const flavor of FLAVORS) {
      const given = config[flavor] !== undefined;
      if (flavor === config.flavor && !given)
        ctx.addIssue({ code: 'custom', path: [flavor], message: `required when flavor is ${flavor}` });
      if (flavor !== config.flavor && given)
        ctx.addIssue({ code: 'custom', path: [flavor], message: `only for flavor ${flavor}` });
    }
  });
export type KubernetesProvider = z.infer<typeof KubernetesProvider>;

/** The `kubernetes` kind's part of the dispatcher config (listed in ../schemas.ts). */
export const kubernetesSchema = {
  kind: 'kubernetes',
  options: KubernetesProvider,
  credentials: KubernetesCredentials,
} as const satisfies ProviderSchema<'kubernetes'>;
