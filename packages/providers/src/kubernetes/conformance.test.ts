import { podBootstrapFromUserData, renderUserData } from '@forgejo-fleet/cloud-init';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { type FakeKubernetesFaultRule, startFakeKubernetes } from '@forgejo-fleet/testkit';
import { describeProviderConformance } from '../conformance/index.js';
import type { ProviderErrorClass } from '../provider.js';
import { KubernetesPodTemplate, KubernetesVmTemplate } from './config-schema.js';
import { createKubernetesProvider } from './index.js';

const NAMESPACE = 'runners';
const KUBECONFIG = '/etc/fleet/kubeconfig';

/** A real runner bootstrap: the pod flavour turns only that into a pod. */
const USER_DATA = renderUserData({
  instanceUrl: 'https://forgejo.example.org/',
  runner: { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: 'f'.repeat(40), name: 'ff-conformance' },
  handle: '33ba7d51-59c6-44f8-9d2b-1b94f4033973',
  labels: ['k8s:host'],
  install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
  jobTimeoutSeconds: 3600,
  docker: { install: false },
});

/** The API's answer per class (quota has no Kubernetes answer of its own: a ResourceQuota is capacity). */
function fault(
  errorClass: ProviderErrorClass,
  resource: 'pods' | 'virtualmachineinstances',
): FakeKubernetesFaultRule {
  const match = { resource, verb: 'create' as const, times: 1 };
  switch (errorClass) {
    case 'capacity':
      return {
        ...match,
        kind: 'status',
        code: 403,
        reason: 'Forbidden',
        message: `${resource} "x" is forbidden: exceeded quota: fleet-quota, requested: pods=1, used: pods=3, limited: pods=3`,
      };
    case 'rate-limited':
      return { ...match, kind: 'tooManyRequests', shape: 'text', retryAfterSeconds: 1 };
    case 'transient':
      return {
        ...match,
        kind: 'status',
        code: 500,
        reason: 'InternalError',
        message: 'etcdserver: leader changed',
      };
    default:
      return { ...match, kind: 'forbidden' };
  }
}

for (const flavor of ['pod', 'kubevirt'] as const) {
  const resource = flavor === 'pod' ? 'pods' : 'virtualmachineinstances';
  describeProviderConformance(
    `kubernetes ${flavor} (fake Kubernetes API)`,
    async () => {
      const clock = virtualClock();
      const fake = await startFakeKubernetes({ now: clock.now, namespaces: [NAMESPACE], kubelet: false });
      const kubeconfig = [
        'apiVersion: v1',
        'kind: Config',
        'current-context: fake',
        `clusters: [{ name: fake, cluster: { server: "${fake.url}" } }]`,
        `users: [{ name: fleet, user: { token: ${fake.token} } }]`,
        'contexts: [{ name: fake, context: { cluster: fake, user: fleet } }]',
      ].join('\n');
      const provider = createKubernetesProvider(
        `k8s-${flavor}`,
        {
          flavor,
          kubeconfig_file: KUBECONFIG,
          namespace: NAMESPACE,
          ...(flavor === 'pod'
            ? { pod: KubernetesPodTemplate.parse({ image: 'registry.example.org/runner:12' }) }
            : { kubevirt: KubernetesVmTemplate.parse({ image: 'quay.io/containerdisks/debian:12' }) }),
        },
        undefined,
        {
          clock,
          podBootstrap: podBootstrapFromUserData,
          readFile: async (path) => {
            if (path !== KUBECONFIG) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
            return kubeconfig;
          },
        },
      );
      return {
        provider,
        cleanup: () => fake.close(),
        // The pod receives bootstrap files, not the user-data; the VMI boots from it unchanged.
        ...(flavor === 'kubevirt'
          ? { userDataOf: async (instance) => fake.secretData(NAMESPACE, `${instance.id}-boot`)?.userdata }
          : {}),
        injectableErrors: ['capacity', 'rate-limited', 'transient', 'fatal'],
        injectError: (errorClass) => fake.injectFault(fault(errorClass, resource)),
      };
    },
    { unknownId: 'ff-never-existed-0', userData: USER_DATA },
  );
}
