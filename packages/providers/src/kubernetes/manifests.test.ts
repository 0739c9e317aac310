import { describe, expect, it } from 'vitest';
import type { PodBootstrap } from './bootstrap.js';
import { KubernetesPodTemplate, KubernetesVmTemplate } from './config-schema.js';
import { podManifest, vmiManifest } from './manifests.js';

const REF = { name: 'ff-1', namespace: 'runners', metadata: { labels: { a: 'b' }, annotations: {} } };
const BOOT: PodBootstrap = {
  files: { 'bootstrap.sh': '#!/bin/sh\n' },
  mountPath: '/run/forgejo-fleet',
  command: ['/bin/sh', '/run/forgejo-fleet/bootstrap.sh'],
  env: { FORGEJO_FLEET_CONTAINER: '1' },
  deadlineSeconds: 4800,
};
const TOLERATIONS = [
  { key: 'ci', operator: 'Equal', value: 'true', effect: 'NoExecute', toleration_seconds: 60 },
  { operator: 'Exists' },
];
const SPELLED = [
  { key: 'ci', operator: 'Equal', value: 'true', effect: 'NoExecute', tolerationSeconds: 60 },
  { operator: 'Exists' },
];

describe('podManifest', () => {
  it('writes every template field the way Kubernetes spells it', () => {
    const template = KubernetesPodTemplate.parse({
      image: 'registry.example.org/runner:12',
      resources: { requests: {}, limits: { memory: '8Gi', 'nvidia.com/gpu': 1 } },
      node_selector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: TOLERATIONS,
      priority_class_name: 'ci-runners',
      image_pull_secrets: ['registry-ci'],
    });

    const { spec } = podManifest(REF, template, BOOT);

    expect(spec).toMatchObject({
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: SPELLED,
      priorityClassName: 'ci-runners',
      imagePullSecrets: [{ name: 'registry-ci' }],
    });
    expect(spec.containers[0]?.resources).toEqual({ limits: { memory: '8Gi', 'nvidia.com/gpu': '1' } });
    expect(spec.containers[0]?.env).toEqual([{ name: 'FORGEJO_FLEET_CONTAINER', value: '1' }]);
  });

  it('leaves out what the template leaves out', () => {
    const { spec } = podManifest(
      REF,
      KubernetesPodTemplate.parse({ image: 'r:1', resources: { requests: {} } }),
      BOOT,
    );

    for (const key of [
      'nodeSelector',
      'tolerations',
      'runtimeClassName',
      'priorityClassName',
      'imagePullSecrets',
    ])
      expect(spec).not.toHaveProperty(key);
    expect(spec.containers[0]?.resources).toEqual({});
  });
});

describe('vmiManifest', () => {
  it('places the VM with the node selector and tolerations, and only with them', () => {
    const placed = vmiManifest(
      REF,
      KubernetesVmTemplate.parse({
        image: 'quay.io/containerdisks/debian:12',
        node_selector: { 'kubevirt.io/schedulable': 'true' },
        tolerations: TOLERATIONS,
      }),
    );
    const plain = vmiManifest(REF, KubernetesVmTemplate.parse({ image: 'quay.io/containerdisks/debian:12' }));

    expect(placed.spec).toMatchObject({
      nodeSelector: { 'kubevirt.io/schedulable': 'true' },
      tolerations: SPELLED,
    });
    expect(plain.spec).not.toHaveProperty('nodeSelector');
    expect(plain.spec).not.toHaveProperty('tolerations');
  });
});
