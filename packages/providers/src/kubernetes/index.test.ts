import { podBootstrapFromUserData, renderUserData } from '@forgejo-fleet/cloud-init';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceSpec, Provider } from '../provider.js';
import { ProviderError } from '../provider.js';
import { type Recorded, type StubApi, startStubApi, status } from './__fixtures__/stub-api.js';
import type { KubernetesProviderOptions } from './config.js';
import { KubernetesPodTemplate, KubernetesVmTemplate } from './config-schema.js';
import { createKubernetesProvider, SECRET_GRACE_MS, TAKE_BACK_MS } from './index.js';
import { FLAVOR_LABEL, KEY_ANNOTATION, objectName, tagsToMetadata } from './labels.js';

const RUNNER_TOKEN = '6c0ffee6c0ffee6c0ffee6c0ffee6c0ffee6c0ff';
const API_TOKEN = 'cluster-api-token-1';
const USER_DATA = renderUserData({
  instanceUrl: 'https://forgejo.example.org/',
  runner: { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: RUNNER_TOKEN, name: 'ff-k8s-1' },
  handle: '33ba7d51-59c6-44f8-9d2b-1b94f4033973',
  labels: ['k8s:host'],
  install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
  jobTimeoutSeconds: 3600,
  docker: { install: false },
  dispatchId: 'dsp_01JABCDEF',
  fleetId: 'prod-eu',
});

const SPEC: InstanceSpec = {
  name: 'ff-dsp-1',
  idempotencyKey: 'prod-eu-dsp_01JABCDEF-0-k8s',
  userData: USER_DATA,
  tags: { 'forgejo-fleet': 'prod-eu', 'forgejo-fleet-scope': 'repo:alice/web-site' },
};
const NAME = objectName(SPEC.idempotencyKey);
const PODS = '/api/v1/namespaces/runners/pods';
const VMIS = '/apis/kubevirt.io/v1/namespaces/runners/virtualmachineinstances';
const SECRETS = '/api/v1/namespaces/runners/secrets';

let stub: StubApi;
beforeEach(async () => {
  stub = await startStubApi();
});
afterEach(async () => {
  await stub.close();
});

function kubeconfig(server: string, user = `token: ${API_TOKEN}`): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: test',
    'clusters:',
    `- name: c\n  cluster:\n    server: ${server}`,
    'users:',
    `- name: u\n  user:\n    ${user}`,
    'contexts:',
    '- name: test\n  context:\n    cluster: c\n    user: u',
  ].join('\n');
}

function options(flavor: 'pod' | 'kubevirt'): KubernetesProviderOptions {
  return {
    flavor,
    kubeconfig_file: '/etc/fleet/kubeconfig',
    namespace: 'runners',
    ...(flavor === 'pod'
      ? {
          pod: KubernetesPodTemplate.parse({
            image: 'registry.example.org/runner:12',
            runtime_class_name: 'gvisor',
            fs_group: 1000,
            tolerations: [{ key: 'ci', operator: 'Exists', effect: 'NoSchedule' }],
          }),
        }
      : { kubevirt: KubernetesVmTemplate.parse({ image: 'quay.io/containerdisks/debian:12' }) }),
  };
}

function provider(
  flavor: 'pod' | 'kubevirt',
  files: Record<string, string> = {},
  clock = virtualClock(),
): Provider {
  const all: Record<string, string> = { '/etc/fleet/kubeconfig': kubeconfig(stub.url), ...files };
  return createKubernetesProvider('k8s', options(flavor), undefined, {
    clock,
    podBootstrap: podBootstrapFromUserData,
    readFile: async (path) => {
      const text = all[path];
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    },
  });
}

/** What a cluster answers to a create: the object with a uid and a creation time. */
function created(request: Recorded, uid = 'uid-1'): { status: number; body: unknown } {
  const body = request.body as { metadata: Record<string, unknown> };
  return {
    status: 201,
    body: { ...body, metadata: { ...body.metadata, uid, creationTimestamp: '2026-12-07T20:00:00Z' } },
  };
}

function acceptCreates() {
  stub.on((r) => (r.method === 'POST' ? created(r) : undefined));
}

function sent(path: string): Array<Record<string, unknown>> {
  return stub.requests
    .filter((r) => r.method === 'POST' && r.path === path)
    .map((r) => r.body as Record<string, unknown>);
}

async function failure(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

describe('kubernetes provider: pod flavour', () => {
  it('creates the pod, then its Secret owned by the pod, with the bootstrap mounted read-only at 0400', async () => {
    acceptCreates();

    const instance = await provider('pod').create(SPEC);

    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${PODS}`, `POST ${SECRETS}`]);
    const [pod] = sent(PODS);
    expect(pod).toMatchObject({
      metadata: { name: NAME, labels: { [FLAVOR_LABEL]: 'pod', 'forgejo-fleet': 'prod-eu' } },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        activeDeadlineSeconds: podBootstrapFromUserData(USER_DATA).deadlineSeconds,
        runtimeClassName: 'gvisor',
        securityContext: { runAsNonRoot: true, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        tolerations: [{ key: 'ci', operator: 'Exists', effect: 'NoSchedule' }],
        containers: [
          {
            image: 'registry.example.org/runner:12',
            command: [...podBootstrapFromUserData(USER_DATA).command],
            resources: { requests: { cpu: '1', memory: '2Gi' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'bootstrap', mountPath: podBootstrapFromUserData(USER_DATA).mountPath, readOnly: true },
            ],
          },
        ],
        volumes: [{ name: 'bootstrap', secret: { secretName: `${NAME}-boot`, defaultMode: 256 } }],
      },
    });
    const [secret] = sent(SECRETS);
    expect(secret).toMatchObject({
      metadata: {
        name: `${NAME}-boot`,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: NAME, uid: 'uid-1' }],
      },
    });
    const data = (secret?.data ?? {}) as Record<string, string>;
    expect(Buffer.from(data['runner-token'] ?? '', 'base64').toString()).toBe(RUNNER_TOKEN);
    expect(instance).toMatchObject({ id: NAME, name: SPEC.name, state: 'pending', tags: SPEC.tags });
  });

  it('never puts the runner token into any object it sends outside a Secret’s data', async () => {
    acceptCreates();

    await provider('pod').create(SPEC);

    const bodies = stub.requests.map((r) => r.body).filter((b) => b !== undefined);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) {
      const { data, ...rest } = body as { data?: unknown };
      expect(JSON.stringify(rest)).not.toContain(RUNNER_TOKEN);
      // Only a Secret carries data; the pod's spec, env and command never do.
      if (data !== undefined) expect((body as { kind: string }).kind).toBe('Secret');
    }
    expect(JSON.stringify(sent(PODS))).not.toContain(RUNNER_TOKEN);
    expect(stub.requests.every((r) => r.authorization === `Bearer ${API_TOKEN}`)).toBe(true);
  });

  it('refuses user-data that is not a runner bootstrap, before any call', async () => {
    const error = await failure(provider('pod').create({ ...SPEC, userData: '#cloud-config\n{}\n' }));
    expect(error.class).toBe('fatal');
    expect(stub.requests).toEqual([]);
  });

  it('adopts its own pod on a replay (409 AlreadyExists) and keeps the Secret that pod owns', async () => {
    const existing = {
      status: 200,
      body: {
        metadata: {
          name: NAME,
          uid: 'uid-1',
          labels: { [FLAVOR_LABEL]: 'pod' },
          annotations: { [KEY_ANNOTATION]: SPEC.idempotencyKey },
        },
        status: { phase: 'Running' },
      },
    };
    stub.on((r) =>
      r.method === 'POST' ? status(409, 'AlreadyExists', `pods "${NAME}" already exists`) : undefined,
    );
    stub.on((r) => (r.method === 'GET' && r.path === `${PODS}/${NAME}` ? existing : undefined));
    stub.on((r) =>
      r.method === 'GET' && r.path === `${SECRETS}/${NAME}-boot`
        ? {
            status: 200,
            body: {
              metadata: {
                name: `${NAME}-boot`,
                ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: NAME, uid: 'uid-1' }],
              },
            },
          }
        : undefined,
    );

    const instance = await provider('pod').create(SPEC);

    expect(instance).toMatchObject({ id: NAME, state: 'running' });
    expect(stub.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('refuses to adopt an object of another idempotency key as fatal', async () => {
    stub.on((r) => (r.method === 'POST' ? status(409, 'AlreadyExists', 'exists') : undefined));
    stub.on((r) =>
      r.method === 'GET'
        ? {
            status: 200,
            body: {
              metadata: {
                name: NAME,
                labels: { [FLAVOR_LABEL]: 'pod' },
                annotations: { [KEY_ANNOTATION]: 'other' },
              },
            },
          }
        : undefined,
    );

    const error = await failure(provider('pod').create(SPEC));

    expect(error.class).toBe('fatal');
    expect(error.message).toContain('another idempotency key');
  });

  it('deletes the pod again when its Secret cannot be created', async () => {
    stub.on((r) => (r.method === 'POST' && r.path === PODS ? created(r, 'uid-7') : undefined));
    stub.on((r) =>
      r.path === SECRETS
        ? status(403, 'Forbidden', 'secrets is forbidden: User "x" cannot create resource "secrets"')
        : undefined,
    );
    stub.on((r) => (r.method === 'DELETE' ? { status: 200, body: {} } : undefined));

    const error = await failure(provider('pod').create(SPEC));

    expect(error.class).toBe('fatal');
    const deletes = stub.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual([`${PODS}/${NAME}`]);
    expect(deletes[0]?.body).toMatchObject({
      propagationPolicy: 'Background',
      preconditions: { uid: 'uid-7' },
    });
  });
});

describe('kubernetes provider: pod security', () => {
  function podSecurity(template: Record<string, unknown>) {
    stub.on((r) => (r.method === 'POST' ? created(r) : undefined));
    const build = createKubernetesProvider(
      'k8s',
      {
        flavor: 'pod',
        kubeconfig_file: '/etc/fleet/kubeconfig',
        namespace: 'runners',
        pod: KubernetesPodTemplate.parse({ image: 'registry.example.org/runner:12', ...template }),
      },
      undefined,
      {
        clock: virtualClock(),
        podBootstrap: podBootstrapFromUserData,
        readFile: async () => kubeconfig(stub.url),
      },
    );
    return build.create(SPEC).then(() => {
      const spec = sent(PODS)[0]?.spec as {
        securityContext: unknown;
        containers: { securityContext: unknown }[];
      };
      return { pod: spec.securityContext, container: spec.containers[0]?.securityContext };
    });
  }

  // What the `restricted` Pod Security level checks (pod-security-admission, policy/check_*.go).
  it.each([
    {
      template: {},
      pod: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    },
    {
      template: { run_as_user: 1001, fs_group: 1001 },
      pod: {
        runAsNonRoot: true,
        runAsUser: 1001,
        fsGroup: 1001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
    },
    {
      // A root image: runAsNonRoot would stop every pod (CreateContainerConfigError); `restricted` refuses it.
      template: { run_as_user: 0 },
      pod: { runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } },
    },
  ])(
    'template $template: pod securityContext $pod, no privilege escalation, every capability dropped',
    async ({ template, pod }) => {
      const sentContexts = await podSecurity(template);

      expect(sentContexts.pod).toEqual(pod);
      expect(sentContexts.container).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    },
  );
});

describe('kubernetes provider: taking back a half-made pod', () => {
  it('an abort between the Pod and the Secret deletes the pod anyway, not with the aborted signal', async () => {
    const controller = new AbortController();
    stub.on((r) => (r.method === 'POST' && r.path === PODS ? created(r, 'uid-9') : undefined));
    stub.on((r) => {
      if (r.method !== 'POST' || r.path !== SECRETS) return undefined;
      // The caller gives up while the Secret is on its way (a dispatcher deadline or shutdown).
      controller.abort();
      return created(r);
    });
    stub.on((r) => (r.method === 'DELETE' ? { status: 200, body: {} } : undefined));

    const error = await provider('pod')
      .create(SPEC, { signal: controller.signal })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect((error as Error).name).toBe('AbortError');
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${PODS}`,
      `POST ${SECRETS}`,
      `DELETE ${PODS}/${NAME}`,
    ]);
    expect(stub.requests[2]?.body).toMatchObject({
      propagationPolicy: 'Background',
      preconditions: { uid: 'uid-9' },
    });
  });

  it('the take-back has its own deadline; when it runs out, the create still fails with its own error', async () => {
    const deadlines: number[] = [];
    stub.on((r) => (r.method === 'POST' && r.path === PODS ? created(r) : undefined));
    stub.on((r) =>
      r.path === SECRETS ? status(500, 'InternalError', 'etcdserver: request timed out') : undefined,
    );
    const expired = createKubernetesProvider('k8s', options('pod'), undefined, {
      clock: virtualClock(),
      podBootstrap: podBootstrapFromUserData,
      readFile: async () => kubeconfig(stub.url),
      // The deadline is already over when the take-back starts: it sends nothing.
      timer: (ms, onExpire) => {
        deadlines.push(ms);
        onExpire();
        return () => undefined;
      },
    });

    const error = await failure(expired.create(SPEC));

    expect(error.class).toBe('transient');
    expect(error.message).toContain('etcdserver: request timed out');
    expect(deadlines).toEqual([TAKE_BACK_MS]);
    expect(stub.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });
});

describe('kubernetes provider: kubevirt flavour', () => {
  it('boots the VMI from a Secret holding the user-data unchanged (secretRef, never inline)', async () => {
    acceptCreates();

    const instance = await provider('kubevirt').create(SPEC);

    const [vmi] = sent(VMIS);
    expect(vmi).toMatchObject({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      spec: {
        domain: { cpu: { cores: 2 }, memory: { guest: '4Gi' } },
        volumes: [
          { name: 'root', containerDisk: { image: 'quay.io/containerdisks/debian:12' } },
          { name: 'cloudinit', cloudInitNoCloud: { secretRef: { name: `${NAME}-boot` } } },
        ],
      },
    });
    expect(JSON.stringify(vmi)).not.toContain(RUNNER_TOKEN);
    const [secret] = sent(SECRETS);
    expect(secret).toMatchObject({
      metadata: {
        ownerReferences: [
          { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: NAME, uid: 'uid-1' },
        ],
      },
    });
    const data = (secret?.data ?? {}) as Record<string, string>;
    expect(Buffer.from(data.userdata ?? '', 'base64').toString()).toBe(USER_DATA);
    expect(instance.machine).toBe('kubevirt:2c/4Gi');
  });

  it.each([
    [{ phase: 'Scheduling' }, undefined, 'pending'],
    [{ phase: 'Running' }, undefined, 'running'],
    [{ phase: 'Succeeded' }, undefined, 'stopped'],
    [{ phase: 'Running' }, '2026-12-07T20:05:00Z', 'terminated'],
    [
      {
        phase: 'Pending',
        conditions: [
          {
            type: 'Synchronized',
            status: 'False',
            reason: 'FailedCreate',
            message:
              'failed to create virtual machine pod: pods "virt-launcher-x" is forbidden: exceeded quota: q, requested: pods=1',
          },
        ],
      },
      undefined,
      'stopped',
    ],
  ])('get maps status %j (deleting %s) to %s', async (vmiStatus, deletionTimestamp, state) => {
    stub.on(() => ({
      status: 200,
      body: {
        metadata: {
          name: NAME,
          labels: { [FLAVOR_LABEL]: 'kubevirt' },
          ...(deletionTimestamp ? { deletionTimestamp } : {}),
        },
        status: vmiStatus,
      },
    }));

    expect((await provider('kubevirt').get(NAME))?.state).toBe(state);
  });
});

describe('kubernetes provider: errors', () => {
  it.each([
    [
      status(
        403,
        'Forbidden',
        `pods "${NAME}" is forbidden: exceeded quota: runners, requested: pods=1, used: pods=10, limited: pods=10`,
      ),
      'capacity',
      undefined,
    ],
    [
      status(403, 'Forbidden', 'pods is forbidden: violates PodSecurity "restricted:latest"'),
      'fatal',
      undefined,
    ],
    [status(401, 'Unauthorized', 'Unauthorized'), 'fatal', undefined],
    [
      { status: 429, text: 'Too many requests, please try again later.', headers: { 'retry-after': '7' } },
      'rate-limited',
      7_000,
    ],
    [status(429, 'TooManyRequests', 'Too many requests', { retryAfterSeconds: 3 }), 'rate-limited', 3_000],
    [status(500, 'InternalError', 'etcdserver: request timed out'), 'transient', undefined],
  ])('create answered %j is %s', async (answer, errorClass, retryAfterMs) => {
    stub.on((r) => (r.method === 'POST' ? answer : undefined));

    const error = await failure(provider('pod').create(SPEC));

    expect(error.class).toBe(errorClass);
    expect(error.retryAfterMs).toBe(retryAfterMs);
  });

  it('a 422 is fatal and names the fields the API refused', async () => {
    stub.on((r) =>
      r.method === 'POST'
        ? status(422, 'Invalid', `Pod "${NAME}" is invalid`, {
            causes: [{ field: 'spec.runtimeClassName', message: 'Unsupported value' }],
          })
        : undefined,
    );

    const error = await failure(provider('pod').create(SPEC));

    expect(error.class).toBe('fatal');
    expect(error.message).toContain('spec.runtimeClassName: Unsupported value');
  });

  it('a 401 reads the token file again once (a rotated token), then succeeds', async () => {
    const tokens = ['old-token', 'new-token'];
    const reads: string[] = [];
    const p = createKubernetesProvider('k8s', options('pod'), undefined, {
      clock: virtualClock(),
      podBootstrap: podBootstrapFromUserData,
      readFile: async (path) => {
        reads.push(path);
        return path === '/etc/fleet/kubeconfig'
          ? kubeconfig(stub.url, 'tokenFile: token')
          : `${tokens.shift()}\n`;
      },
    });
    stub.on((r) =>
      r.authorization === 'Bearer old-token' ? status(401, 'Unauthorized', 'Unauthorized') : undefined,
    );
    stub.on(() => ({ status: 200, body: { metadata: {}, items: [] } }));

    expect(await p.list({ 'forgejo-fleet': 'prod-eu' })).toEqual([]);

    expect(reads).toEqual(['/etc/fleet/kubeconfig', '/etc/fleet/token', '/etc/fleet/token']);
    expect(stub.requests.map((r) => r.authorization)).toEqual(['Bearer old-token', 'Bearer new-token']);
  });
});

describe('kubernetes provider: list, get and delete', () => {
  /** A listed pod as the provider wrote it: the scope's label is the hash of its value. */
  const item = (name: string, scope: string) => {
    const { labels, annotations } = tagsToMetadata({
      'forgejo-fleet': 'prod-eu',
      'forgejo-fleet-scope': scope,
    });
    return {
      metadata: { name, labels: { ...labels, [FLAVOR_LABEL]: 'pod' }, annotations },
      status: { phase: 'Running' },
    };
  };

  it('pages with limit/continue, restarts on 410, selects the flavour, and filters the exact tags', async () => {
    stub.on(
      (r) =>
        r.query.get('continue') === 'expired' ? status(410, 'Expired', 'continue token expired') : undefined,
      { once: true },
    );
    stub.on(
      (r) =>
        r.query.get('continue') === null
          ? { status: 200, body: { metadata: { continue: 'expired' }, items: [item('a', 'x')] } }
          : undefined,
      { once: true },
    );
    stub.on((r) =>
      r.query.get('continue') === null
        ? { status: 200, body: { metadata: { continue: 'page2' }, items: [item('a', 'x')] } }
        : undefined,
    );
    stub.on((r) =>
      r.query.get('continue') === 'page2'
        ? { status: 200, body: { metadata: { continue: '' }, items: [item('b', 'y')] } }
        : undefined,
    );

    const found = await provider('pod').list({ 'forgejo-fleet': 'prod-eu' });

    expect(found.map((i) => i.id)).toEqual(['a', 'b']);
    expect(stub.requests.map((r) => r.query.get('continue'))).toEqual([null, 'expired', null, 'page2']);
    expect(stub.requests[0]?.query.get('labelSelector')).toBe(`forgejo-fleet=prod-eu,${FLAVOR_LABEL}=pod`);
    expect(stub.requests[0]?.query.get('limit')).toBe('100');
  });

  /** Carries alice's hashed label, but an annotation edited to another value: not hers. */
  function tampered(name: string) {
    const pod = item(name, 'repo:alice/web-site');
    return {
      ...pod,
      metadata: {
        ...pod.metadata,
        annotations: { 'tag.forgejo-fleet/forgejo-fleet-scope': 'repo:alice/web-sitE' },
      },
    };
  }

  it('a tag value that is no label value is selected by its hash and matched exactly', async () => {
    stub.on(() => ({
      status: 200,
      body: { metadata: {}, items: [item('a', 'repo:alice/web-site'), tampered('b')] },
    }));

    const found = await provider('pod').list({ 'forgejo-fleet-scope': 'repo:alice/web-site' });

    expect(found.map((i) => [i.id, i.tags['forgejo-fleet-scope']])).toEqual([['a', 'repo:alice/web-site']]);
    expect(stub.requests[0]?.query.get('labelSelector')).toMatch(
      /^forgejo-fleet-scope=repo-alice-web-site-[0-9a-f]{12},/,
    );
  });

  it('delete: background propagation with the uid as precondition, then the Secret; a second delete is not-found', async () => {
    let deleted = false;
    stub.on((r) =>
      r.method === 'GET'
        ? deleted
          ? status(404, 'NotFound', 'gone')
          : {
              status: 200,
              body: { metadata: { name: NAME, uid: 'uid-3', labels: { [FLAVOR_LABEL]: 'pod' } } },
            }
        : undefined,
    );
    stub.on((r) => {
      if (r.method !== 'DELETE') return undefined;
      deleted = true;
      return { status: 200, body: {} };
    });
    const p = provider('pod');

    expect(await p.delete(NAME)).toBe('deleted');
    expect(await p.delete(NAME)).toBe('not-found');
    expect(await p.get(NAME)).toBeUndefined();

    const deletes = stub.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual([`${PODS}/${NAME}`, `${SECRETS}/${NAME}-boot`]);
    expect(deletes[0]?.body).toMatchObject({
      propagationPolicy: 'Background',
      preconditions: { uid: 'uid-3' },
    });
  });

  it('a pod without our flavour label (a virt-launcher) is not ours: get is undefined, delete is not-found', async () => {
    stub.on(() => ({
      status: 200,
      body: { metadata: { name: 'virt-launcher-x', labels: { [FLAVOR_LABEL]: 'kubevirt' } } },
    }));
    const p = provider('pod');

    expect(await p.get('virt-launcher-x')).toBeUndefined();
    expect(await p.delete('virt-launcher-x')).toBe('not-found');
    expect(stub.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });
});

describe('kubernetes provider: edges', () => {
  const ours = (uid: string) => ({
    status: 200,
    body: {
      metadata: {
        name: NAME,
        uid,
        labels: { [FLAVOR_LABEL]: 'pod' },
        annotations: { [KEY_ANNOTATION]: SPEC.idempotencyKey },
      },
    },
  });

  it('replaces a Secret left by an earlier pod of the same name, then owns the new one', async () => {
    stub.on((r) => (r.method === 'POST' && r.path === PODS ? created(r, 'uid-new') : undefined));
    stub.on((r) => (r.method === 'POST' ? status(409, 'AlreadyExists', 'secret exists') : undefined), {
      once: true,
    });
    stub.on((r) =>
      r.method === 'GET'
        ? {
            status: 200,
            body: {
              metadata: {
                name: `${NAME}-boot`,
                ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: NAME, uid: 'uid-old' }],
              },
            },
          }
        : undefined,
    );
    stub.on((r) =>
      r.method === 'DELETE' ? { status: 200, body: { kind: 'Status', status: 'Success' } } : undefined,
    );
    acceptCreates();

    await provider('pod').create(SPEC);

    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${PODS}`,
      `POST ${SECRETS}`,
      `GET ${SECRETS}/${NAME}-boot`,
      `DELETE ${SECRETS}/${NAME}-boot`,
      `POST ${SECRETS}`,
    ]);
    expect(sent(SECRETS)[1]).toMatchObject({ metadata: { ownerReferences: [{ uid: 'uid-new' }] } });
  });

  it('a create without an answer (5xx) adopts the pod the lookup by name finds', async () => {
    stub.on((r) =>
      r.method === 'POST' && r.path === PODS
        ? status(504, 'Timeout', 'the server was unable to respond')
        : undefined,
    );
    stub.on((r) => (r.method === 'GET' ? ours('uid-9') : undefined));
    acceptCreates();

    const instance = await provider('pod').create(SPEC);

    expect(instance.id).toBe(NAME);
    expect(sent(SECRETS)[0]).toMatchObject({ metadata: { ownerReferences: [{ uid: 'uid-9' }] } });
  });

  it('a create without an answer whose lookup fails too is transient', async () => {
    stub.on((r) => (r.method === 'POST' ? status(500, 'InternalError', 'boom') : undefined));
    stub.on((r) =>
      r.method === 'GET' ? status(403, 'Forbidden', 'pods "x" is forbidden: cannot get') : undefined,
    );

    const error = await failure(provider('pod').create(SPEC));

    expect(error.class).toBe('transient');
    expect(error.message).toContain('answer lost and the lookup by name failed');
  });

  it('get retries a 5xx twice, then reports it as transient', async () => {
    stub.on(() => status(503, 'ServiceUnavailable', 'apiserver is shutting down'));

    const error = await failure(provider('pod').get(NAME));

    expect(error.class).toBe('transient');
    expect(stub.requests).toHaveLength(3);
  });

  it('delete answers not-found when a successor took the name (uid precondition, 409 Conflict)', async () => {
    stub.on((r) => (r.method === 'GET' ? ours('uid-1') : undefined));
    stub.on((r) =>
      r.method === 'DELETE'
        ? status(409, 'Conflict', 'Precondition failed: UID in precondition: uid-1')
        : undefined,
    );

    expect(await provider('pod').delete(NAME)).toBe('not-found');
  });

  it.each([
    [
      'an unknown machine choice',
      { ...SPEC, choice: { key: 'cx22@fsn1', machine: 'cx22' } },
      'unknown machine choice',
    ],
    [
      'a tag key that is no label name',
      { ...SPEC, tags: { 'scope with spaces': 'x' } },
      'not a valid Kubernetes label name',
    ],
  ])('refuses %s as fatal, before any call', async (_what, spec, message) => {
    const error = await failure(provider('pod').create(spec));

    expect([error.class, stub.requests.length]).toEqual(['fatal', 0]);
    expect(error.message).toContain(message);
  });

  it('without the pod bootstrap wired, a pod create is a fatal configuration error', async () => {
    const p = createKubernetesProvider('k8s', options('pod'), undefined, {
      readFile: async () => kubeconfig(stub.url),
    });

    const error = await failure(p.create(SPEC));

    expect(error.message).toContain('no pod bootstrap wired');
  });

  it('an id that cannot be an object name is never sent: get undefined, delete not-found', async () => {
    const p = provider('pod');

    expect(await p.get('Not_A_Name')).toBeUndefined();
    expect(await p.delete('Not_A_Name')).toBe('not-found');
    expect(stub.requests).toEqual([]);
  });

  it('a Secret name still taken after replacing it once is transient, and the pod is taken back', async () => {
    stub.on((r) => (r.method === 'POST' && r.path === PODS ? created(r, 'uid-new') : undefined));
    stub.on((r) => (r.method === 'POST' ? status(409, 'AlreadyExists', 'secret exists') : undefined));
    stub.on((r) =>
      r.method === 'GET'
        ? {
            status: 200,
            body: {
              metadata: {
                name: `${NAME}-boot`,
                ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: NAME, uid: 'uid-old' }],
              },
            },
          }
        : undefined,
    );
    stub.on((r) => (r.method === 'DELETE' ? status(404, 'NotFound', 'gone') : undefined));

    const error = await failure(provider('pod').create(SPEC));

    expect(error.class).toBe('transient');
    expect(error.message).toContain(`secret ${NAME}-boot is taken`);
    expect(stub.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `${PODS}/${NAME}` });
  });

  it('a replay that finds its pod being deleted makes no Secret and reports it terminated', async () => {
    stub.on((r) => (r.method === 'POST' ? status(409, 'AlreadyExists', 'exists') : undefined));
    stub.on((r) => {
      if (r.method !== 'GET') return undefined;
      const answer = ours('uid-3');
      return {
        ...answer,
        body: { metadata: { ...answer.body.metadata, deletionTimestamp: '2026-12-07T20:00:00Z' } },
      };
    });

    const instance = await provider('pod').create(SPEC);

    expect(instance.state).toBe('terminated');
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${PODS}`,
      `GET ${PODS}/${NAME}`,
    ]);
  });

  it.each([
    [
      'a bootstrap over the 1 MiB a Secret holds',
      'kubevirt',
      { userData: 'x'.repeat(1024 * 1024 + 1) },
      '1 MiB',
    ],
    ['an options object without the flavour’s template', 'no-template', {}, 'no pod template configured'],
  ] as const)('%s is fatal before any call', async (_, which, change, message) => {
    const p =
      which === 'kubevirt'
        ? provider('kubevirt')
        : createKubernetesProvider('k8s', { ...options('pod'), pod: undefined }, undefined, {
            podBootstrap: podBootstrapFromUserData,
            readFile: async () => kubeconfig(stub.url),
          });

    const error = await failure(p.create({ ...SPEC, ...change }));

    expect(error.class).toBe('fatal');
    expect(error.message).toContain(message);
    expect(stub.requests).toEqual([]);
  });

  it.each([
    [404, 'NotFound', 'not-found'],
    [403, 'Forbidden', 'fatal'],
  ] as const)('delete: the pod DELETE answering %i is %s', async (code, reason, outcome) => {
    stub.on((r) => (r.method === 'GET' ? ours('uid-4') : undefined));
    stub.on((r) => (r.method === 'DELETE' ? status(code, reason, `pods "${NAME}" ${reason}`) : undefined));

    const result = await provider('pod')
      .delete(NAME)
      .catch((e: unknown) => (e instanceof ProviderError ? e.class : e));

    expect(result).toBe(outcome);
    expect(stub.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      `${PODS}/${NAME}`,
    ]);
  });

  it('an unreadable kubeconfig is fatal, naming the file, and is read again on the next call', async () => {
    let reads = 0;
    const p = createKubernetesProvider('k8s', options('pod'), undefined, {
      readFile: async () => {
        reads++;
        throw Object.assign(new Error('denied'), { code: 'EACCES' });
      },
    });

    const error = await failure(p.list({}));
    await failure(p.list({}));

    expect(error.class).toBe('fatal');
    expect(error.message).toContain('kubeconfig_file /etc/fleet/kubeconfig: cannot read (EACCES)');
    expect(reads).toBe(2);
  });
});

describe('kubernetes provider: an owner its creator left without a Secret', () => {
  const CREATED = '2026-12-07T20:00:00Z';
  const POD_NOTE = 'bootstrap Secret missing: the dispatcher stopped between the Pod and its Secret';
  /** The provider's clock `ms` after the owner's creationTimestamp. */
  const after = (ms: number) => virtualClock(Date.parse(CREATED) + ms);
  const owner = (name: string, flavor: 'pod' | 'kubevirt', phase: string, created = CREATED) => ({
    metadata: {
      name,
      uid: `uid-${name}`,
      creationTimestamp: created,
      labels: { ...tagsToMetadata(SPEC.tags).labels, [FLAVOR_LABEL]: flavor },
      annotations: tagsToMetadata(SPEC.tags).annotations,
    },
    status: { phase },
  });
  const secret = (ownerName: string) => ({ metadata: { name: `${ownerName}-boot` } });
  const secretLooks = () => stub.requests.filter((r) => r.path.startsWith(SECRETS));

  it.each([
    ['inside the grace, without its Secret', SECRET_GRACE_MS - 1_000, false, 'pending', undefined, 0],
    ['past the grace, without its Secret', SECRET_GRACE_MS, false, 'stopped', POD_NOTE, 1],
    ['past the grace, with its Secret', SECRET_GRACE_MS + 60_000, true, 'pending', undefined, 1],
  ])('get: a Pending pod %s is %s', async (_, age, withSecret, state, note, looks) => {
    stub.on((r) =>
      r.path === `${PODS}/${NAME}` ? { status: 200, body: owner(NAME, 'pod', 'Pending') } : undefined,
    );
    stub.on((r) =>
      r.path === `${SECRETS}/${NAME}-boot` && withSecret ? { status: 200, body: secret(NAME) } : undefined,
    );

    const found = await provider('pod', {}, after(age)).get(NAME);

    expect(found?.state).toBe(state);
    expect(found?.note).toBe(note);
    expect(secretLooks()).toHaveLength(looks);
  });

  it('get: a Running pod past the grace is not looked at (its Secret was mounted)', async () => {
    stub.on(() => ({ status: 200, body: owner(NAME, 'pod', 'Running') }));

    const found = await provider('pod', {}, after(10 * SECRET_GRACE_MS)).get(NAME);

    expect(found?.state).toBe('running');
    expect(secretLooks()).toEqual([]);
  });

  it('list: one paged list of the Secrets by the same selector marks only the old pods without one', async () => {
    const late = new Date(Date.parse(CREATED) + SECRET_GRACE_MS).toISOString();
    stub.on((r) =>
      r.path === PODS
        ? {
            status: 200,
            body: {
              metadata: {},
              items: [
                owner('orphan', 'pod', 'Pending'),
                owner('waiting', 'pod', 'Pending'),
                owner('fresh', 'pod', 'Pending', late),
                owner('running', 'pod', 'Running'),
              ],
            },
          }
        : undefined,
    );
    stub.on((r) =>
      r.path === SECRETS && r.query.get('continue') === null
        ? { status: 200, body: { metadata: { continue: 'p2' }, items: [secret('running')] } }
        : undefined,
    );
    stub.on((r) =>
      r.path === SECRETS && r.query.get('continue') === 'p2'
        ? { status: 200, body: { metadata: { continue: '' }, items: [secret('waiting')] } }
        : undefined,
    );

    const found = await provider('pod', {}, after(SECRET_GRACE_MS + 1_000)).list(SPEC.tags);

    expect(found.map((i) => [i.id, i.state, i.note])).toEqual([
      ['orphan', 'stopped', POD_NOTE],
      ['waiting', 'pending', undefined],
      ['fresh', 'pending', undefined],
      ['running', 'running', undefined],
    ]);
    const pods = stub.requests.find((r) => r.path === PODS);
    expect(secretLooks().map((r) => [r.query.get('labelSelector'), r.query.get('continue')])).toEqual([
      [pods?.query.get('labelSelector'), null],
      [pods?.query.get('labelSelector'), 'p2'],
    ]);
  });

  it('list: no Secret is listed while no pending pod is past the grace', async () => {
    stub.on((r) =>
      r.path === PODS
        ? {
            status: 200,
            body: { metadata: {}, items: [owner('fresh', 'pod', 'Pending'), owner('r', 'pod', 'Running')] },
          }
        : undefined,
    );

    const found = await provider('pod', {}, after(1_000)).list(SPEC.tags);

    expect(found.map((i) => i.state)).toEqual(['pending', 'running']);
    expect(secretLooks()).toEqual([]);
  });

  it('kubevirt: a scheduling VMI past the grace without its secretRef Secret is stopped', async () => {
    stub.on((r) =>
      r.path === `${VMIS}/${NAME}` ? { status: 200, body: owner(NAME, 'kubevirt', 'Scheduling') } : undefined,
    );

    const found = await provider('kubevirt', {}, after(SECRET_GRACE_MS)).get(NAME);

    expect(found).toMatchObject({
      state: 'stopped',
      note: 'bootstrap Secret missing: the dispatcher stopped between the VMI and its Secret',
    });
  });

  it('a failed look at the Secret fails the get rather than guessing', async () => {
    stub.on((r) =>
      r.path === `${PODS}/${NAME}` ? { status: 200, body: owner(NAME, 'pod', 'Pending') } : undefined,
    );
    stub.on((r) => (r.path.startsWith(SECRETS) ? status(403, 'Forbidden', 'cannot get secrets') : undefined));

    const error = await failure(provider('pod', {}, after(SECRET_GRACE_MS)).get(NAME));

    expect(error.message).toContain('cannot get secrets');
  });
});
