import { afterEach, describe, expect, it } from 'vitest';
import {
  b64,
  call,
  type Json,
  ownedBy,
  PODS,
  plainPod,
  runnerVmi,
  SECRETS,
  VMIS,
} from './__fixtures__/world.js';
import { type RunningFakeKubernetes, startFakeKubernetes } from './server.js';
import type { FakeKubernetesOptions } from './types.js';

let kube: RunningFakeKubernetes | undefined;
let now = Date.UTC(2026, 11, 7, 12);

afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

async function start(options: FakeKubernetesOptions = {}): Promise<RunningFakeKubernetes> {
  now = Date.UTC(2026, 11, 7, 12);
  kube = await startFakeKubernetes({ now: () => now, kubelet: false, ...options });
  return kube;
}

const names = (reply: { json: Json }) => reply.json.items.map((i: Json) => i.metadata.name);

describe('fake Kubernetes: objects', () => {
  it('creates, gets and deletes pods with server-set uid, creationTimestamp and resourceVersion', async () => {
    const k = await start();
    const created = await call(k, 'POST', PODS, plainPod('web-1'));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'web-1', namespace: 'default', creationTimestamp: '2026-12-07T12:00:00Z' },
      spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30 },
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    });
    expect(created.json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const got = await call(k, 'GET', `${PODS}/web-1`);
    expect(got.json).toEqual(created.json);

    const again = await call(k, 'POST', PODS, plainPod('web-1'));
    expect(again.status).toBe(409);
    expect(again.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "web-1" already exists',
      reason: 'AlreadyExists',
      details: { name: 'web-1', kind: 'pods' },
      code: 409,
    });
    expect((await call(k, 'GET', `${PODS}/nope`)).json).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'pods "nope" not found',
    });
    expect((await call(k, 'DELETE', `${VMIS}/nope`)).json).toMatchObject({
      message: 'virtualmachineinstances.kubevirt.io "nope" not found',
      details: { name: 'nope', group: 'kubevirt.io', kind: 'virtualmachineinstances' },
    });
  });

  it('mounts the service-account token unless automountServiceAccountToken is false, and defaults secret volumes to 0644', async () => {
    const k = await start();
    const volume = { name: 's', secret: { secretName: 's' } };
    const mount = { name: 's', mountPath: '/s' };
    const withToken = await call(k, 'POST', PODS, {
      metadata: { name: 'a' },
      spec: { containers: [{ name: 'c', image: 'i', volumeMounts: [mount] }], volumes: [volume] },
    });
    expect(withToken.json.spec.volumes.map((v: Json) => v.name)).toEqual([
      's',
      expect.stringMatching(/^kube-api-access-\w{5}$/),
    ]);
    expect(withToken.json.spec.volumes[0].secret.defaultMode).toBe(420);
    expect(withToken.json.spec.containers[0].volumeMounts[1].mountPath).toBe(
      '/var/run/secrets/kubernetes.io/serviceaccount',
    );
    const without = await call(k, 'POST', PODS, {
      metadata: { name: 'b' },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'c',
            image: 'i:latest',
            volumeMounts: [mount],
            resources: { limits: { cpu: '1', memory: '1Gi' } },
          },
        ],
        volumes: [{ name: 's', secret: { secretName: 's', defaultMode: 256 } }],
      },
    });
    expect(without.json.spec.volumes).toEqual([{ name: 's', secret: { secretName: 's', defaultMode: 256 } }]);
    expect(without.json.spec.containers[0]).toMatchObject({
      volumeMounts: [mount],
      imagePullPolicy: 'Always',
    });
    expect(without.json.status.qosClass).toBe('Guaranteed');
    const burstable = await call(
      k,
      'POST',
      PODS,
      plainPod('c', {
        spec: { containers: [{ name: 'c', image: 'i@sha256:1', resources: { requests: { cpu: '1' } } }] },
      }),
    );
    expect(burstable.json.status.qosClass).toBe('Burstable');
  });

  it('names generateName objects with five random characters, and refuses what the API server refuses', async () => {
    const k = await start({ namespaces: ['default', 'ci'] });
    const generated = await call(k, 'POST', PODS, {
      metadata: { generateName: `${'g'.repeat(70)}-` },
      spec: plainPod('x').spec,
    });
    expect(generated.json.metadata.name).toMatch(/^g{58}[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(generated.json.metadata.generateName).toBe(`${'g'.repeat(70)}-`);
    expect((await call(k, 'POST', '/api/v1/namespaces/ci/pods', plainPod('x'))).status).toBe(201);
    expect((await call(k, 'POST', '/api/v1/namespaces/other/pods', plainPod('x'))).json).toMatchObject({
      code: 404,
      message: 'namespaces "other" not found',
      details: { name: 'other', kind: 'namespaces' },
    });
    k.addNamespace('other');
    expect((await call(k, 'POST', '/api/v1/namespaces/other/pods', plainPod('x'))).status).toBe(201);
    const mismatch = await call(k, 'POST', PODS, plainPod('x', { metadata: { namespace: 'ci' } }));
    expect(mismatch.json).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'the namespace of the provided object does not match the namespace sent on the request',
    });
    expect((await call(k, 'POST', PODS, undefined, { raw: '{nope' })).json.reason).toBe('BadRequest');
    expect((await call(k, 'POST', PODS, [])).json.message).toBe(
      'the object provided is unrecognized (must be of type Pod)',
    );
    expect((await call(k, 'POST', PODS, { kind: 'Secret', ...plainPod('x') })).status).toBe(400);
  });

  const long = (n: number) => 'a'.repeat(n);
  it.each([
    [
      'no name',
      PODS,
      { metadata: {}, spec: plainPod('x').spec },
      'metadata.name',
      'Required value: name or generateName is required',
    ],
    [
      'a name with capitals',
      PODS,
      plainPod('Web_1'),
      'metadata.name',
      expect.stringContaining('a lowercase RFC 1123 subdomain'),
    ],
    [
      'a name of 254 characters',
      SECRETS,
      { metadata: { name: long(254) } },
      'metadata.name',
      `Invalid value: "${long(254)}": must be no more than 253 characters`,
    ],
    [
      'a label key with a space',
      SECRETS,
      { metadata: { name: 's', labels: { 'a b': 'x' } } },
      'metadata.labels',
      expect.stringContaining('name part must consist of'),
    ],
    [
      'a label key with two slashes',
      SECRETS,
      { metadata: { name: 's', labels: { 'a/b/c': 'x' } } },
      'metadata.labels',
      expect.stringContaining('a qualified name must consist of'),
    ],
    [
      'a label key with a bad prefix',
      SECRETS,
      { metadata: { name: 's', labels: { 'A_B/c': 'x' } } },
      'metadata.labels',
      expect.stringContaining('prefix part a lowercase RFC 1123'),
    ],
    [
      'a label key with an empty prefix',
      SECRETS,
      { metadata: { name: 's', labels: { '/c': 'x' } } },
      'metadata.labels',
      'Invalid value: "/c": prefix part must be non-empty',
    ],
    [
      'a label key with an empty name',
      SECRETS,
      { metadata: { name: 's', labels: { 'a.io/': 'x' } } },
      'metadata.labels',
      'Invalid value: "a.io/": name part must be non-empty',
    ],
    [
      'a label key name of 64',
      SECRETS,
      { metadata: { name: 's', labels: { [long(64)]: 'x' } } },
      'metadata.labels',
      expect.stringContaining('name part must be no more than 63 characters'),
    ],
    [
      'a label value of 64',
      SECRETS,
      { metadata: { name: 's', labels: { a: long(64) } } },
      'metadata.labels',
      `Invalid value: "${long(64)}": must be no more than 63 characters`,
    ],
    [
      'a label value with a slash',
      SECRETS,
      { metadata: { name: 's', labels: { repo: 'acme/app' } } },
      'metadata.labels',
      expect.stringContaining('a valid label must be an empty string'),
    ],
    [
      'a label value that is a number',
      SECRETS,
      { metadata: { name: 's', labels: { a: 1 } } },
      'metadata.labels',
      'Invalid value: 1: must be a string',
    ],
    [
      'labels that are a list',
      SECRETS,
      { metadata: { name: 's', labels: ['a'] } },
      'metadata.labels',
      'Invalid value: ["a"]: must be a map of strings',
    ],
    [
      'annotations over 256 KiB',
      SECRETS,
      { metadata: { name: 's', annotations: { a: long(256 * 1024) } } },
      'metadata.annotations',
      'Too long: must have at most 262144 bytes',
    ],
    [
      'an annotation that is not a string',
      SECRETS,
      { metadata: { name: 's', annotations: { a: true } } },
      'metadata.annotations',
      'Invalid value: true: must be a string',
    ],
    [
      'annotations that are a string',
      SECRETS,
      { metadata: { name: 's', annotations: 'a' } },
      'metadata.annotations',
      'Invalid value: "a": must be a map of strings',
    ],
    [
      'an owner without uid',
      SECRETS,
      { metadata: { name: 's', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p' }] } },
      'metadata.ownerReferences.uid',
      'Invalid value: "": uid must not be empty',
    ],
    [
      'an owner without apiVersion',
      SECRETS,
      { metadata: { name: 's', ownerReferences: [{ kind: 'Pod', name: 'p', uid: 'u' }] } },
      'metadata.ownerReferences.apiVersion',
      'Invalid value: "": version must not be empty',
    ],
    [
      'an owner without kind',
      SECRETS,
      { metadata: { name: 's', ownerReferences: [{ apiVersion: 'v1', name: 'p', uid: 'u' }] } },
      'metadata.ownerReferences.kind',
      'Invalid value: "": kind must not be empty',
    ],
    [
      'an owner without name',
      SECRETS,
      { metadata: { name: 's', ownerReferences: ['x'] } },
      'metadata.ownerReferences.apiVersion',
      'Invalid value: "": version must not be empty',
    ],
    [
      'owners that are not a list',
      SECRETS,
      { metadata: { name: 's', ownerReferences: {} } },
      'metadata.ownerReferences',
      'Invalid value: {}: must be a list',
    ],
    [
      'two controllers',
      SECRETS,
      {
        metadata: {
          name: 's',
          ownerReferences: ['a', 'b'].map((n) => ({
            apiVersion: 'v1',
            kind: 'Pod',
            name: n,
            uid: n,
            controller: true,
          })),
        },
      },
      'metadata.ownerReferences',
      expect.stringContaining(
        'Only one reference can have Controller set to true. Found "true" in references for Pod/a and Pod/b',
      ),
    ],
    ['no containers', PODS, { metadata: { name: 'p' }, spec: {} }, 'spec.containers', 'Required value'],
    ['no spec', PODS, { metadata: { name: 'p' } }, 'spec', 'Required value'],
    [
      'a container without image',
      PODS,
      plainPod('p', { spec: { containers: [{ name: 'c' }] } }),
      'spec.containers[0].image',
      'Required value',
    ],
    [
      'a container without name',
      PODS,
      plainPod('p', { spec: { containers: [{ image: 'i' }] } }),
      'spec.containers[0].name',
      'Required value',
    ],
    [
      'a container named badly',
      PODS,
      plainPod('p', { spec: { containers: [{ name: 'C', image: 'i' }] } }),
      'spec.containers[0].name',
      expect.stringContaining('RFC 1123 label'),
    ],
    [
      'an unknown restart policy',
      PODS,
      plainPod('p', { spec: { restartPolicy: 'Sometimes' } }),
      'spec.restartPolicy',
      'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ],
    [
      'a deadline of 0',
      PODS,
      plainPod('p', { spec: { activeDeadlineSeconds: 0 } }),
      'spec.activeDeadlineSeconds',
      'Invalid value: 0: must be between 1 and 2147483647, inclusive',
    ],
    [
      'a secret mode over 0777',
      PODS,
      plainPod('p', { spec: { volumes: [{ name: 'v', secret: { secretName: 's', defaultMode: 1000 } }] } }),
      'spec.volumes[0].secret.defaultMode',
      'Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive',
    ],
    [
      'a volume named badly',
      PODS,
      plainPod('p', { spec: { volumes: [{ name: 'V' }] } }),
      'spec.volumes[0].name',
      expect.stringContaining('RFC 1123 label'),
    ],
    [
      'a volume twice',
      PODS,
      plainPod('p', { spec: { volumes: [{ name: 'v' }, { name: 'v' }] } }),
      'spec.volumes[1].name',
      'Duplicate value: "v"',
    ],
    [
      'a mount of no volume',
      PODS,
      plainPod('p', {
        spec: { containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'v', mountPath: '/v' }] }] },
      }),
      'spec.containers[0].volumeMounts[0].name',
      'Not found: "v"',
    ],
    [
      'a mount without path',
      PODS,
      plainPod('p', {
        spec: {
          containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'v' }] }],
          volumes: [{ name: 'v' }],
        },
      }),
      'spec.containers[0].volumeMounts[0].mountPath',
      'Required value',
    ],
    [
      'a data key with a slash',
      SECRETS,
      { metadata: { name: 's' }, data: { 'a/b': b64('x') } },
      'data[a/b]',
      expect.stringContaining('a valid config key must consist of'),
    ],
    [
      'a data key ..',
      SECRETS,
      { metadata: { name: 's' }, stringData: { '..': 'x' } },
      'data[..]',
      expect.stringContaining('a valid config key'),
    ],
    [
      'data over 1 MiB',
      SECRETS,
      { metadata: { name: 's' }, stringData: { a: long(1024 * 1024 + 1) } },
      'data',
      'Too long: must have at most 1048576 bytes',
    ],
    ['a VMI without spec', VMIS, { metadata: { name: 'v' } }, 'spec', 'Required value'],
    ['a VMI without domain', VMIS, { metadata: { name: 'v' }, spec: {} }, 'spec.domain', 'Required value'],
  ])('422 Invalid for %s', async (_name, path, body, field, message) => {
    const k = await start();
    const reply = await call(k, 'POST', path, body);
    expect(reply.status).toBe(422);
    expect(reply.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
    expect(reply.json.details.causes).toContainEqual({ reason: expect.any(String), field, message });
    expect(reply.json.message).toContain(`is invalid: `);
    expect(reply.json.message).toContain(field);
  });

  it('lists several causes in brackets, and names a VMI with its group', async () => {
    const k = await start();
    const pod = await call(k, 'POST', PODS, { metadata: { name: 'P' }, spec: {} });
    expect(pod.json.message).toMatch(
      /^Pod "P" is invalid: \[metadata\.name: Invalid value: "P": .*, spec\.containers: Required value\]$/,
    );
    expect(pod.json.details).toMatchObject({ name: 'P', kind: 'Pod' });
    const vmi = await call(k, 'POST', VMIS, { metadata: { name: 'v' }, spec: {} });
    expect(vmi.json.message).toBe(
      'VirtualMachineInstance.kubevirt.io "v" is invalid: spec.domain: Required value',
    );
    expect(vmi.json.details).toMatchObject({ group: 'kubevirt.io', kind: 'VirtualMachineInstance' });
  });

  it.each([
    [
      'inline user-data over 2048 bytes',
      { userData: 'x'.repeat(2049) },
      'userdata exceeds 2048 bytes limit. Should use UserDataSecretRef for larger data',
    ],
    [
      'base64 user-data over 2048 bytes',
      { userDataBase64: b64('x'.repeat(2049)) },
      'userdata exceeds 2048 bytes limit',
    ],
    [
      'two user-data sources',
      { userData: 'x', secretRef: { name: 's' } },
      'must have one and only one userdata source set',
    ],
  ])('denies a VMI with %s in its admission webhook', async (_name, source, message) => {
    const k = await start();
    const manifest = runnerVmi('v');
    manifest.spec.volumes[1] = { name: 'cloudinit', cloudInitNoCloud: source } as never;
    const reply = await call(k, 'POST', VMIS, manifest);
    expect(reply.status).toBe(422);
    expect(reply.json.message).toMatch(
      /^admission webhook "virtualmachineinstances-create-validator\.kubevirt\.io" denied the request: spec\.volumes\[1\]\.cloudInitNoCloud: /,
    );
    expect(reply.json.message).toContain(message);
  });

  it('stores Secrets with data base64 and stringData merged in, refuses bad base64, answers DELETE with a Status', async () => {
    const k = await start();
    const created = await call(k, 'POST', SECRETS, {
      metadata: { name: 's' },
      data: { a: b64('one'), b: b64('two') },
      stringData: { b: 'three' },
    });
    expect(created.json).toMatchObject({
      kind: 'Secret',
      type: 'Opaque',
      data: { a: b64('one'), b: b64('three') },
    });
    expect(created.json.stringData).toBeUndefined();
    expect(k.secretData('default', 's')).toEqual({ a: 'one', b: 'three' });
    expect(k.secretData('default', 'nope')).toBeUndefined();
    const typed = await call(k, 'POST', SECRETS, {
      metadata: { name: 't' },
      type: 'kubernetes.io/basic-auth',
      immutable: true,
    });
    expect(typed.json).toMatchObject({ type: 'kubernetes.io/basic-auth', immutable: true });
    expect(typed.json.data).toBeUndefined();
    const bad = await call(k, 'POST', SECRETS, { metadata: { name: 'u' }, data: { a: 'no*base64' } });
    expect(bad.json).toMatchObject({
      code: 400,
      message: 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2',
    });
    expect((await call(k, 'POST', SECRETS, { metadata: { name: 'u' }, data: { a: 7 } })).status).toBe(400);

    const deleted = await call(k, 'DELETE', `${SECRETS}/s`);
    expect(deleted.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 's', kind: 'secrets', uid: created.json.metadata.uid },
    });
    expect((await call(k, 'GET', `${SECRETS}/s`)).status).toBe(404);
  });

  it('serves /version, and answers 404 and 405 with a Status', async () => {
    const k = await start();
    expect((await call(k, 'GET', '/version')).json.gitVersion).toBe('v1.36.0-fake');
    expect((await call(k, 'GET', '/api/v1/namespaces/default/configmaps')).json).toMatchObject({
      code: 404,
      reason: 'NotFound',
    });
    expect((await call(k, 'PUT', `${PODS}/x`, {})).json).toMatchObject({
      code: 405,
      reason: 'MethodNotAllowed',
    });
    expect((await call(k, 'GET', PODS, undefined, { token: 'wrong' })).json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('validates and answers a dryRun=All create or delete without storing or deleting', async () => {
    const k = await start();
    const dry = await call(k, 'POST', `${PODS}?dryRun=All`, plainPod('dry'));
    expect(dry.status).toBe(201);
    expect(k.pods()).toEqual([]);
    expect((await call(k, 'POST', `${PODS}?dryRun=Some`, plainPod('dry'))).json.message).toBe(
      'Invalid dry run value: Some',
    );
    await call(k, 'POST', PODS, plainPod('p'));
    await call(k, 'POST', SECRETS, { metadata: { name: 's' } });
    expect((await call(k, 'DELETE', `${PODS}/p?dryRun=All`)).json.metadata.deletionTimestamp).toBeUndefined();
    expect((await call(k, 'DELETE', `${SECRETS}/s?dryRun=All`)).json.status).toBe('Success');
    expect((await call(k, 'DELETE', `${SECRETS}/s?dryRun=x`)).status).toBe(400);
    expect(k.pods()).toHaveLength(1);
    expect(k.secrets()).toHaveLength(1);
  });
});

describe('fake Kubernetes: lists', () => {
  async function seed(k: RunningFakeKubernetes) {
    const labels: Record<string, Record<string, string>> = {
      a: { fleet: 'x', role: 'runner' },
      b: { fleet: 'x', role: 'agent' },
      c: { fleet: 'y' },
      d: { fleet: 'x', role: 'runner' },
      e: { other: '1' },
    };
    for (const [name, l] of Object.entries(labels))
      await call(k, 'POST', PODS, plainPod(name, { metadata: { labels: l } }));
  }

  it.each([
    ['fleet=x,role=runner', ['a', 'd']],
    ['fleet==x', ['a', 'b', 'd']],
    ['role', ['a', 'b', 'd']],
    ['!role', ['c', 'e']],
    ['fleet!=x', ['c', 'e']],
    ['role in (agent,runner),fleet notin (y)', ['a', 'b', 'd']],
  ])('selects by labelSelector %s', async (selector, expected) => {
    const k = await start();
    await seed(k);
    const reply = await call(k, 'GET', `${PODS}?labelSelector=${encodeURIComponent(selector)}`);
    expect(names(reply)).toEqual(expected);
  });

  it('refuses a selector it cannot parse, and a limit that is not a number', async () => {
    const k = await start();
    expect(
      (await call(k, 'GET', `${PODS}?labelSelector=${encodeURIComponent('a in (b')}`)).json,
    ).toMatchObject({
      code: 400,
      message: 'unable to parse requirement: unbalanced "("',
    });
    expect((await call(k, 'GET', `${PODS}?limit=ten`)).status).toBe(400);
  });

  it('leaves kind and apiVersion out of built-in list items, keeps them on VMIs, and gives every list a resourceVersion', async () => {
    const k = await start();
    await call(k, 'POST', PODS, plainPod('p'));
    await call(k, 'POST', VMIS, runnerVmi('v'));
    const pods = await call(k, 'GET', PODS);
    expect(pods.json).toMatchObject({
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '3' },
    });
    expect(pods.json.items[0].kind).toBeUndefined();
    const vmis = await call(k, 'GET', VMIS);
    expect(vmis.json).toMatchObject({ kind: 'VirtualMachineInstanceList', apiVersion: 'kubevirt.io/v1' });
    expect(vmis.json.items[0]).toMatchObject({
      kind: 'VirtualMachineInstance',
      apiVersion: 'kubevirt.io/v1',
    });
    expect((await call(k, 'GET', SECRETS)).json).toEqual({
      kind: 'SecretList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '3' },
      items: [],
    });
  });

  it('pages with limit and continue over one snapshot, with remainingItemCount when there is no selector', async () => {
    const k = await start();
    await seed(k);
    const first = await call(k, 'GET', `${PODS}?limit=2`);
    expect(names(first)).toEqual(['a', 'b']);
    expect(first.json.metadata).toMatchObject({ resourceVersion: '6', remainingItemCount: 3 });
    // Changes after the first page stay out of this list.
    await call(k, 'POST', PODS, plainPod('bb'));
    await call(k, 'DELETE', `${PODS}/d?gracePeriodSeconds=0`);
    const second = await call(k, 'GET', `${PODS}?limit=2&continue=${first.json.metadata.continue}`);
    expect(names(second)).toEqual(['c', 'd']);
    expect(second.json.metadata).toMatchObject({ resourceVersion: '6', remainingItemCount: 1 });
    const third = await call(k, 'GET', `${PODS}?limit=2&continue=${second.json.metadata.continue}`);
    expect(names(third)).toEqual(['e']);
    expect(third.json.metadata).toEqual({ resourceVersion: '6' });
    expect(names(await call(k, 'GET', PODS))).toEqual(['a', 'b', 'bb', 'c', 'e']);
  });

  it('may end a selected list with an empty page, and never counts what a selector leaves', async () => {
    const k = await start();
    await seed(k);
    const first = await call(k, 'GET', `${PODS}?labelSelector=role%3Drunner&limit=2`);
    expect(names(first)).toEqual(['a', 'd']);
    expect(first.json.metadata.continue).toBeDefined();
    expect(first.json.metadata.remainingItemCount).toBeUndefined();
    const last = await call(
      k,
      'GET',
      `${PODS}?labelSelector=role%3Drunner&limit=2&continue=${first.json.metadata.continue}`,
    );
    expect(last.json.items).toEqual([]);
    expect(last.json.metadata.continue).toBeUndefined();
  });

  it('caps pages at maxPageItems whatever the limit', async () => {
    const k = await start({ maxPageItems: 1 });
    await seed(k);
    const first = await call(k, 'GET', `${PODS}?limit=100`);
    expect(names(first)).toEqual(['a']);
    expect(first.json.metadata.remainingItemCount).toBe(4);
  });

  it('answers 410 Expired for an expired token, with a fresh continue that resumes from a newer snapshot', async () => {
    const k = await start({ continueTokenTtlSeconds: 60 });
    await seed(k);
    const first = await call(k, 'GET', `${PODS}?limit=2`);
    await call(k, 'POST', PODS, plainPod('ca'));
    k.expireContinueTokens();
    const gone = await call(k, 'GET', `${PODS}?limit=2&continue=${first.json.metadata.continue}`);
    expect(gone.status).toBe(410);
    expect(gone.json).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410, status: 'Failure' });
    expect(gone.json.message).toMatch(/^The provided continue parameter is too old/);
    const resumed = await call(k, 'GET', `${PODS}?limit=2&continue=${gone.json.metadata.continue}`);
    expect(names(resumed)).toEqual(['c', 'ca']);
    expect(resumed.json.metadata.resourceVersion).toBe('7');

    // The TTL runs on the injected clock.
    now += 59_000;
    expect((await call(k, 'GET', `${PODS}?limit=2&continue=${resumed.json.metadata.continue}`)).status).toBe(
      200,
    );
    now += 1_000;
    expect((await call(k, 'GET', `${PODS}?limit=2&continue=${resumed.json.metadata.continue}`)).status).toBe(
      410,
    );
  });

  it.each([
    ['not base64 JSON', 'garbage!'],
    ['another shape', Buffer.from(JSON.stringify({ v: 'x', rv: 1, start: 'a' })).toString('base64url')],
  ])('refuses a continue token that is %s', async (_name, token) => {
    const k = await start();
    expect((await call(k, 'GET', `${PODS}?limit=1&continue=${token}`)).json).toMatchObject({
      code: 400,
      message: expect.stringMatching(/^continue key is not valid: /),
    });
  });
});

describe('fake Kubernetes: deletion and garbage collection', () => {
  it('keeps a deleted pod with deletionTimestamp for its grace (spec, query or body), and removes it at once with 0', async () => {
    const k = await start({ terminationSeconds: 3_600 });
    for (const name of ['spec', 'query', 'body', 'now'])
      await call(k, 'POST', PODS, plainPod(name, { spec: { terminationGracePeriodSeconds: 10 } }));
    const fromSpec = await call(k, 'DELETE', `${PODS}/spec`);
    expect(fromSpec.json.metadata).toMatchObject({
      deletionTimestamp: '2026-12-07T12:00:10Z',
      deletionGracePeriodSeconds: 10,
    });
    expect(
      (await call(k, 'DELETE', `${PODS}/query?gracePeriodSeconds=5`)).json.metadata
        .deletionGracePeriodSeconds,
    ).toBe(5);
    expect(
      (await call(k, 'DELETE', `${PODS}/body`, { gracePeriodSeconds: 7 })).json.metadata.deletionTimestamp,
    ).toBe('2026-12-07T12:00:07Z');
    // A second delete may only shorten the grace.
    expect(
      (await call(k, 'DELETE', `${PODS}/body`, { gracePeriodSeconds: 60 })).json.metadata
        .deletionGracePeriodSeconds,
    ).toBe(7);
    const immediate = await call(k, 'DELETE', `${PODS}/now`, { gracePeriodSeconds: 0 });
    expect(immediate.json.metadata).toMatchObject({
      deletionTimestamp: '2026-12-07T12:00:00Z',
      deletionGracePeriodSeconds: 0,
    });
    expect(names(await call(k, 'GET', PODS))).toEqual(['body', 'query', 'spec']);
    now += 5_000;
    expect(names(await call(k, 'GET', PODS))).toEqual(['body', 'spec']);
    now += 5_000;
    expect(names(await call(k, 'GET', PODS))).toEqual([]);
  });

  it('refuses bad delete options', async () => {
    const k = await start();
    await call(k, 'POST', PODS, plainPod('p'));
    expect((await call(k, 'DELETE', `${PODS}/p?propagationPolicy=Sometimes`)).json).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan"',
    });
    expect((await call(k, 'DELETE', `${PODS}/p?gracePeriodSeconds=soon`)).status).toBe(400);
    expect((await call(k, 'DELETE', `${PODS}/p`, { gracePeriodSeconds: 1.5 })).status).toBe(400);
    expect((await call(k, 'DELETE', `${PODS}/p`, undefined, { raw: '{' })).status).toBe(400);
    expect((await call(k, 'DELETE', `${PODS}/p`, [1])).status).toBe(400);
    expect(k.pods()[0]?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('answers 409 Conflict when a precondition does not match', async () => {
    const k = await start();
    const pod = await call(k, 'POST', PODS, plainPod('p'));
    const byUid = await call(k, 'DELETE', `${PODS}/p`, { preconditions: { uid: 'someone-else' } });
    expect(byUid.json).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on pods "p": Precondition failed: UID in precondition: someone-else, UID in object meta: ${pod.json.metadata.uid}`,
    });
    const byVersion = await call(k, 'DELETE', `${PODS}/p`, { preconditions: { resourceVersion: '1' } });
    expect(byVersion.json.message).toContain(
      'Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: 2',
    );
    expect(
      (await call(k, 'DELETE', `${PODS}/p`, { preconditions: { uid: pod.json.metadata.uid } })).status,
    ).toBe(200);
  });

  it('collects a Secret whose owner is gone, whose owner never existed, or whose owner is in another namespace', async () => {
    const k = await start({ namespaces: ['default', 'other'] });
    const owner = await call(k, 'POST', PODS, plainPod('owner'));
    const elsewhere = await call(k, 'POST', '/api/v1/namespaces/other/pods', plainPod('owner'));
    await call(k, 'POST', SECRETS, { metadata: { name: 'owned', ownerReferences: ownedBy(owner.json) } });
    await call(k, 'POST', SECRETS, { metadata: { name: 'cross', ownerReferences: ownedBy(elsewhere.json) } });
    await call(k, 'POST', SECRETS, {
      metadata: {
        name: 'phantom',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'x', uid: 'never' }],
      },
    });
    await call(k, 'POST', SECRETS, { metadata: { name: 'free' } });
    expect(names(await call(k, 'GET', SECRETS))).toEqual(['free', 'owned']);
    await call(k, 'DELETE', `${PODS}/owner`);
    expect(names(await call(k, 'GET', SECRETS))).toEqual(['free', 'owned']);
    await k.settle();
    expect(k.secrets().map((s) => s.metadata.name)).toEqual(['free']);
  });

  it('collects dependents only after the garbage collector delay', async () => {
    const k = await start({ garbageCollectionDelaySeconds: 30 });
    const owner = await call(k, 'POST', SECRETS, { metadata: { name: 'owner' } });
    await call(k, 'POST', SECRETS, {
      metadata: { name: 'dep', ownerReferences: ownedBy({ ...owner.json, kind: 'Secret' }) },
    });
    await call(k, 'DELETE', `${SECRETS}/owner`);
    now += 29_000;
    k.tick();
    expect(k.secrets().map((s) => s.metadata.name)).toEqual(['dep']);
    now += 1_000;
    k.tick();
    expect(k.secrets()).toEqual([]);
  });

  it('orphans dependents with propagationPolicy=Orphan (or orphanDependents=true)', async () => {
    const k = await start();
    for (const [name, query] of [
      ['a', 'propagationPolicy=Orphan'],
      ['b', 'orphanDependents=true'],
    ]) {
      const owner = await call(k, 'POST', PODS, plainPod(`owner-${name}`));
      await call(k, 'POST', SECRETS, { metadata: { name, ownerReferences: ownedBy(owner.json) } });
      await call(k, 'DELETE', `${PODS}/owner-${name}?gracePeriodSeconds=0&${query}`);
    }
    await k.settle();
    expect(k.secrets().map((s) => [s.metadata.name, s.metadata.ownerReferences])).toEqual([
      ['a', undefined],
      ['b', undefined],
    ]);
  });

  it('keeps a foreground-deleted owner until its dependents are gone', async () => {
    const k = await start({ terminationSeconds: 10 });
    const owner = await call(k, 'POST', SECRETS, { metadata: { name: 'owner' } });
    await call(
      k,
      'POST',
      PODS,
      plainPod('dep', { metadata: { ownerReferences: ownedBy({ ...owner.json, kind: 'Secret' }) } }),
    );
    const deleted = await call(k, 'DELETE', `${SECRETS}/owner`, { propagationPolicy: 'Foreground' });
    expect(deleted.json.status).toBe('Success');
    expect(k.object('secrets', 'default', 'owner')?.metadata).toMatchObject({
      finalizers: ['foregroundDeletion'],
    });
    expect(k.object('pods', 'default', 'dep')?.metadata.deletionTimestamp).toBeDefined();
    now += 10_000;
    k.tick();
    expect(k.pods()).toEqual([]);
    expect(k.secrets()).toEqual([]);
  });

  it('removes a VMI without a launcher pod at once when the kubelet is off', async () => {
    const k = await start();
    await call(k, 'POST', VMIS, runnerVmi('v'));
    await call(k, 'DELETE', `${VMIS}/v`);
    expect(k.vmis()).toEqual([]);
  });
});

describe('fake Kubernetes: quota and faults', () => {
  it('refuses a pod over the namespace quota with the exceeded-quota message, even a replayed one; finished pods do not count', async () => {
    const k = await start({ quotas: { default: { pods: 2 } } });
    await call(k, 'POST', PODS, plainPod('a'));
    await call(k, 'POST', PODS, plainPod('b'));
    const over = await call(k, 'POST', PODS, plainPod('c'));
    expect(over.status).toBe(403);
    expect(over.json).toMatchObject({
      reason: 'Forbidden',
      message:
        'pods "c" is forbidden: exceeded quota: fleet-quota, requested: pods=1, used: pods=2, limited: pods=2',
      details: { name: 'c', kind: 'pods' },
    });
    expect((await call(k, 'POST', PODS, plainPod('a'))).status).toBe(403);
    k.setStatus('pods', 'default', 'a', { phase: 'Succeeded' });
    expect((await call(k, 'POST', PODS, plainPod('c'))).status).toBe(201);
    expect(() => k.setStatus('pods', 'default', 'nope', {})).toThrow('no pods default/nope');
  });

  it('answers an RBAC-style 403 for the matching verb, resource, namespace and name, as often as told', async () => {
    const k = await start();
    k.injectFault({ kind: 'forbidden', verb: 'create', resource: 'pods', times: 1 });
    k.injectFault({
      kind: 'forbidden',
      verb: 'list',
      resource: 'virtualmachineinstances',
      user: 'system:serviceaccount:ci:fleet',
    });
    k.injectFault({ kind: 'forbidden', verb: 'get', namespace: 'default', name: 'locked' });
    const create = await call(k, 'POST', PODS, plainPod('p'));
    expect(create.json).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      // The authorizer runs before the body is read: a create's refusal names no object.
      message:
        'pods is forbidden: User "system:serviceaccount:default:forgejo-fleet" cannot create resource "pods" in API group "" in the namespace "default"',
    });
    expect((await call(k, 'POST', PODS, plainPod('p'))).status).toBe(201);
    expect((await call(k, 'GET', VMIS)).json.message).toBe(
      'virtualmachineinstances.kubevirt.io is forbidden: User "system:serviceaccount:ci:fleet" cannot list resource "virtualmachineinstances" in API group "kubevirt.io" in the namespace "default"',
    );
    expect((await call(k, 'GET', `${PODS}/locked`)).status).toBe(403);
    expect((await call(k, 'GET', `${PODS}/p`)).status).toBe(200);
    k.clearFaults();
    expect((await call(k, 'GET', VMIS)).status).toBe(200);
  });

  it('answers 429 as plain text with Retry-After, or as a Status with retryAfterSeconds', async () => {
    const k = await start();
    k.injectFault({ kind: 'tooManyRequests', shape: 'text', retryAfterSeconds: 3, times: 1 });
    k.injectFault({ kind: 'tooManyRequests', shape: 'status', times: 1 });
    const text = await call(k, 'GET', PODS);
    expect(text.status).toBe(429);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.headers.get('retry-after')).toBe('3');
    expect(text.text).toBe('Too many requests, please try again later.\n');
    const status = await call(k, 'GET', PODS);
    expect(status.headers.get('retry-after')).toBe('1');
    expect(status.json).toMatchObject({
      code: 429,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
    });
    expect((await call(k, 'GET', PODS)).status).toBe(200);
  });

  it('answers any Status it is told to, drops connections, and loses create answers after doing the work', async () => {
    const k = await start();
    k.injectFault({ kind: 'status', code: 504, reason: 'Timeout', retryAfterSeconds: 2, times: 1 });
    k.injectFault({
      kind: 'status',
      code: 500,
      reason: 'InternalError',
      message: 'etcdserver: leader changed',
      times: 1,
    });
    k.injectFault({ kind: 'drop', verb: 'delete', times: 1 });
    expect((await call(k, 'GET', PODS)).json).toMatchObject({
      code: 504,
      reason: 'Timeout',
      message: 'Timeout',
      details: { retryAfterSeconds: 2 },
    });
    expect((await call(k, 'GET', PODS)).json).toMatchObject({
      code: 500,
      message: 'etcdserver: leader changed',
      details: {},
    });
    await call(k, 'POST', PODS, plainPod('p'));
    await expect(call(k, 'DELETE', `${PODS}/p`)).rejects.toThrow();
    k.loseCreateResponses();
    await expect(call(k, 'POST', PODS, plainPod('lost'))).rejects.toThrow();
    expect(k.pods().map((p) => p.metadata.name)).toEqual(['lost', 'p']);
    expect((await call(k, 'POST', PODS, plainPod('lost'))).status).toBe(409);
    expect(k.calls().map((c) => c.status)).toEqual([504, 500, 201, 0, 0, 409]);
  });
});
