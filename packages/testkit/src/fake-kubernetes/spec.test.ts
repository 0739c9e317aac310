import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAnswer } from '../fake-answer.js';
import {
  checkAnswers,
  createResponseChecker,
  type Deviations,
  type ResponseChecker,
} from '../spec-check/response-checker.js';
import { KUBERNETES_PODS_SPEC, KUBEVIRT_VMI_SPEC, loadSpec } from '../spec-check/spec-files.js';
import {
  b64,
  call,
  type Json,
  ownedBy,
  PODS,
  plainPod,
  runnerPod,
  runnerVmi,
  SECRETS,
  startForgejoWorld,
  until,
  VMIS,
} from './__fixtures__/world.js';
import { type RunningFakeKubernetes, startFakeKubernetes } from './server.js';

// Every answer the fake Kubernetes API gives during a broad exercise (jobs run by the fake kubelet in
// pods and VMIs, then a table of error answers on every operation) is validated against
// ../shared/specs/kubernetes-core-v1-pods.openapi.json and kubevirt-vmi.openapi.json.
//
// Both specs list only 200/201/202 and a bare 401 (specs README): the API server's errors are all a
// meta/v1 Status (notes §3), so the checker is given one extra response, `#/responses/status`, pointing
// at each spec's own Status definition, and documented deviations say which statuses use it. The 429
// of the request filters is plain text (notes §3), the one answer not checked as JSON.

const ERROR_STATUSES = [400, 403, 404, 409, 410, 422, 429, 500, 504];

function statusShim(raw: unknown, definition: string): unknown {
  const doc = raw as Record<string, unknown>;
  return {
    ...doc,
    responses: {
      ...((doc.responses as Record<string, unknown> | undefined) ?? {}),
      status: {
        description: 'an error Status (not in the spec)',
        schema: { $ref: `#/definitions/${definition}` },
      },
    },
  };
}

const deviations = {
  extraStatuses: [
    {
      status: 401,
      response: '#/responses/status',
      replacesListed: true,
      name: '401 Status',
      reason:
        'the spec lists 401 without a body (core) or as a string (KubeVirt); the API server sends a Status',
    },
    ...ERROR_STATUSES.map((status) => ({
      status,
      response: '#/responses/status',
      name: `${status} Status`,
      reason: 'the specs list no error answers; the API server answers every error with a Status',
    })),
  ],
  plainTextStatuses: [
    {
      status: 429,
      name: '429 text',
      reason: 'the max-in-flight and APF filters answer with http.Error, plain text',
    },
  ],
} satisfies Deviations;

const answers: FakeAnswer[] = [];
let core: ResponseChecker;
let kubevirt: ResponseChecker;
let kube: RunningFakeKubernetes;
let world: Awaited<ReturnType<typeof startForgejoWorld>>;
let now = Date.UTC(2026, 11, 7, 12);

beforeAll(async () => {
  // A missing spec fails here with the path and what to do; the test never skips.
  core = createResponseChecker(
    statusShim(loadSpec(KUBERNETES_PODS_SPEC), 'io.k8s.apimachinery.pkg.apis.meta.v1.Status'),
    {
      basePath: '',
      deviations,
    },
  );
  kubevirt = createResponseChecker(
    statusShim(loadSpec(KUBEVIRT_VMI_SPEC), 'k8s.io.apimachinery.pkg.apis.meta.v1.Status'),
    {
      basePath: '',
      deviations,
    },
  );
  world = await startForgejoWorld();
  kube = await startFakeKubernetes({
    now: () => now,
    kubelet: { fetchInterval: '10ms', jobMs: 0 },
    onAnswer: (a) => answers.push(a),
  });
});

afterAll(async () => {
  await kube?.close();
  await world?.close();
});

const pod = (name: string) => kube.object('pods', 'default', name) as Json;
const vmi = (name: string) => kube.object('virtualmachineinstances', 'default', name) as Json;

async function expectStatus(method: string, path: string, status: number, body?: unknown, raw?: string) {
  const reply = await call(kube, method, path, body, raw === undefined ? {} : { raw });
  expect(`${method} ${path} → ${reply.status}`).toBe(`${method} ${path} → ${status}`);
  return reply;
}

/** Pods through their whole life: waiting, running, succeeded, failed, deadline, deleted. */
async function exercisePods(): Promise<void> {
  const { userData } = await world.job();
  const { pod: manifest, secret } = runnerPod('job-ok', userData, { dispatch: 'd-1' });
  const created = await expectStatus('POST', PODS, 201, manifest);
  await expectStatus('GET', `${PODS}/job-ok`, 200);
  await expectStatus('POST', SECRETS, 201, secret(created.json));
  await expectStatus('GET', `${PODS}/job-ok`, 200);
  await until(kube, () => pod('job-ok').status.phase === 'Succeeded', 'job-ok to succeed');
  await expectStatus('GET', `${PODS}/job-ok`, 200);
  await expectStatus('GET', `${SECRETS}/job-ok`, 200);

  const stuck = await world.job();
  world.forgejo.cancelJob(stuck.job.handle);
  const late = runnerPod('job-late', stuck.userData);
  late.pod.spec.activeDeadlineSeconds = 30;
  const lateCreated = await expectStatus('POST', PODS, 201, late.pod);
  await expectStatus('POST', SECRETS, 201, late.secret(lateCreated.json));
  now += 30_000;
  await expectStatus('GET', `${PODS}/job-late`, 200);
  expect(pod('job-late').status.reason).toBe('DeadlineExceeded');

  const broken = await expectStatus('POST', PODS, 201, {
    ...plainPod('broken', {
      spec: { containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 's', mountPath: '/s' }] }] },
    }),
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'c',
          image: 'i',
          volumeMounts: [{ name: 's', mountPath: '/s' }],
          resources: { requests: { cpu: '100m' } },
        },
      ],
      volumes: [{ name: 's', secret: { secretName: 'broken', defaultMode: 256 } }],
    },
  });
  await expectStatus('POST', SECRETS, 201, {
    metadata: { name: 'broken', ownerReferences: ownedBy(broken.json) },
    stringData: { a: 'x' },
  });
  await expectStatus('GET', `${PODS}/broken`, 200);
  expect(pod('broken').status.phase).toBe('Failed');

  await expectStatus(
    'GET',
    `${PODS}?labelSelector=${encodeURIComponent('forgejo-fleet/fleet=test,dispatch=d-1')}`,
    200,
  );
  await expectStatus('GET', `${SECRETS}?limit=2`, 200);
  await expectStatus('DELETE', `${PODS}/job-ok`, 200, { propagationPolicy: 'Background' });
  await expectStatus('DELETE', `${PODS}/job-late?gracePeriodSeconds=0`, 200);
  await expectStatus('DELETE', `${SECRETS}/broken`, 200);
  await expectStatus('POST', `${PODS}?dryRun=All`, 201, plainPod('dry'));
  await kube.settle();
}

/** VMIs: scheduling, over quota (FailedCreate), running, powered off, deleted with the finalizer. */
async function exerciseVmis(): Promise<void> {
  const { userData } = await world.job();
  const created = await expectStatus('POST', VMIS, 201, runnerVmi('vm-ok', { dispatch: 'd-2' }));
  await expectStatus('GET', `${VMIS}/vm-ok`, 200);
  await expectStatus('GET', PODS, 200);
  await expectStatus('POST', SECRETS, 201, {
    metadata: { name: 'vm-ok', ownerReferences: ownedBy(created.json) },
    data: { userdata: b64(userData) },
  });
  await expectStatus('GET', `${VMIS}/vm-ok`, 200);
  await until(kube, () => vmi('vm-ok').status.phase === 'Succeeded', 'vm-ok to power off');
  await expectStatus('GET', `${VMIS}/vm-ok`, 200);
  await expectStatus('GET', PODS, 200);

  kube.setQuota('default', { pods: 1 });
  await expectStatus('POST', VMIS, 201, runnerVmi('vm-a'));
  await expectStatus('POST', VMIS, 201, runnerVmi('vm-over'));
  await expectStatus('GET', `${VMIS}/vm-over`, 200);
  expect(vmi('vm-over').status.conditions[0].reason).toBe('FailedCreate');
  await expectStatus('POST', PODS, 403, plainPod('over-quota'));
  kube.setQuota('default', undefined);

  await expectStatus('GET', `${VMIS}?labelSelector=dispatch%3Dd-2`, 200);
  await expectStatus('GET', `${VMIS}?limit=1`, 200);
  await expectStatus('DELETE', `${VMIS}/vm-ok`, 200);
  await expectStatus('GET', `${VMIS}/vm-ok`, 200);
  await expectStatus('DELETE', `${VMIS}/vm-a`, 200, { gracePeriodSeconds: 0 });
  await expectStatus('DELETE', `${VMIS}/vm-over`, 200);
  await kube.settle();
}

/** Paging with every kind of token answer. */
async function exercisePaging(): Promise<void> {
  for (let i = 0; i < 5; i++)
    await expectStatus(
      'POST',
      PODS,
      201,
      plainPod(`page-${i}`, { metadata: { labels: { page: String(i % 2) } } }),
    );
  const first = await expectStatus('GET', `${PODS}?limit=2`, 200);
  await expectStatus('GET', `${PODS}?limit=2&continue=${first.json.metadata.continue}`, 200);
  kube.expireContinueTokens();
  const expired = await expectStatus('GET', `${PODS}?limit=2&continue=${first.json.metadata.continue}`, 410);
  await expectStatus('GET', `${PODS}?limit=2&continue=${expired.json.metadata.continue}`, 200);
  const selected = await expectStatus('GET', `${PODS}?labelSelector=page%3D1&limit=2`, 200);
  await expectStatus(
    'GET',
    `${PODS}?labelSelector=page%3D1&limit=2&continue=${selected.json.metadata.continue}`,
    200,
  );
  await expectStatus('GET', `${PODS}?continue=garbage`, 400);
  await expectStatus('POST', VMIS, 201, runnerVmi('page-a'));
  await expectStatus('POST', VMIS, 201, runnerVmi('page-b'));
  const vms = await expectStatus('GET', `${VMIS}?limit=1`, 200);
  kube.expireContinueTokens();
  await expectStatus('GET', `${VMIS}?limit=1&continue=${vms.json.metadata.continue}`, 410);
}

/** Every error answer on every operation the fake serves. */
async function exerciseErrors(): Promise<void> {
  await expectStatus('POST', PODS, 201, plainPod('kept'));
  await expectStatus('POST', SECRETS, 201, { metadata: { name: 'kept' } });
  await expectStatus('POST', VMIS, 201, runnerVmi('kept'));
  const bases = [PODS, SECRETS, VMIS];
  const bodies: Record<string, Json> = {
    [PODS]: plainPod('kept'),
    [SECRETS]: { metadata: { name: 'kept' } },
    [VMIS]: runnerVmi('kept'),
  };
  for (const base of bases) {
    const body = bodies[base] ?? {};
    for (const [method, path] of [
      ['GET', base],
      ['POST', base],
      ['GET', `${base}/kept`],
      ['DELETE', `${base}/kept`],
    ] as const) {
      const reply = await call(kube, method, path, method === 'POST' ? body : undefined, { token: 'wrong' });
      expect(reply.status).toBe(401);
    }
    await expectStatus('GET', `${base}/missing`, 404);
    await expectStatus('DELETE', `${base}/missing`, 404);
    await expectStatus('POST', base, 409, body);
    await expectStatus('POST', base, 422, { metadata: { name: 'Bad_Name' }, spec: {} });
    await expectStatus('POST', base, 400, undefined, '{not json');
    await expectStatus('DELETE', `${base}/kept`, 409, { preconditions: { uid: 'other' } });
    await expectStatus('DELETE', `${base}/kept`, 422, { propagationPolicy: 'Never' });
    await expectStatus('GET', `${base}?labelSelector=${encodeURIComponent('a in (b')}`, 400);
    for (const verb of ['create', 'get', 'list', 'delete'] as const) {
      kube.injectFault({ kind: 'forbidden', verb, times: 1 });
      const [method, path] = {
        create: ['POST', base],
        get: ['GET', `${base}/kept`],
        list: ['GET', base],
        delete: ['DELETE', `${base}/kept`],
      }[verb];
      await expectStatus(method ?? '', path ?? '', 403, method === 'POST' ? body : undefined);
    }
    kube.injectFault({ kind: 'tooManyRequests', shape: 'text', times: 1 });
    await expectStatus('GET', base, 429);
    kube.injectFault({ kind: 'tooManyRequests', shape: 'status', retryAfterSeconds: 2, times: 1 });
    await expectStatus('POST', base, 429, body);
    kube.injectFault({ kind: 'status', code: 500, reason: 'InternalError', times: 1 });
    await expectStatus('GET', `${base}/kept`, 500);
    kube.injectFault({ kind: 'status', code: 504, reason: 'Timeout', retryAfterSeconds: 1, times: 1 });
    await expectStatus('DELETE', `${base}/kept`, 504);
  }
  const inline = runnerVmi('inline');
  inline.spec.volumes[1] = { name: 'cloudinit', cloudInitNoCloud: { userData: 'x'.repeat(3000) } } as never;
  await expectStatus('POST', VMIS, 422, inline);
  await expectStatus('POST', SECRETS, 400, { metadata: { name: 'b' }, data: { a: '!!' } });
}

describe('fake Kubernetes against the Kubernetes and KubeVirt specs', () => {
  it('answers every request of the exercise as the specs describe', async () => {
    await exercisePods();
    await exerciseVmis();
    await exercisePaging();
    await exerciseErrors();

    const isKubevirt = (a: FakeAnswer) => a.path.startsWith('/apis/kubevirt.io/');
    const coreSummary = checkAnswers(
      core,
      answers.filter((a) => !isKubevirt(a)),
    );
    const vmiSummary = checkAnswers(kubevirt, answers.filter(isKubevirt));
    expect(coreSummary.failures).toEqual([]);
    expect(vmiSummary.failures).toEqual([]);

    const covered = [...coreSummary.covered, ...vmiSummary.covered].sort();
    const errors = (op: string, statuses: number[]) => statuses.map((s) => `${op} ${s}`);
    expect(covered).toEqual(
      [
        ...errors('createCoreV1NamespacedPod', [201, 400, 401, 403, 409, 422, 429]),
        ...errors('readCoreV1NamespacedPod', [200, 401, 403, 404, 500]),
        ...errors('listCoreV1NamespacedPod', [200, 400, 401, 403, 410, 429]),
        ...errors('deleteCoreV1NamespacedPod', [200, 401, 403, 404, 409, 422, 504]),
        ...errors('createCoreV1NamespacedSecret', [201, 400, 401, 403, 409, 422, 429]),
        ...errors('readCoreV1NamespacedSecret', [200, 401, 403, 404, 500]),
        ...errors('listCoreV1NamespacedSecret', [200, 400, 401, 403, 429]),
        ...errors('deleteCoreV1NamespacedSecret', [200, 401, 403, 404, 409, 422, 504]),
        ...errors('createNamespacedVirtualMachineInstance', [201, 400, 401, 403, 409, 422, 429]),
        ...errors('readNamespacedVirtualMachineInstance', [200, 401, 403, 404, 500]),
        ...errors('listNamespacedVirtualMachineInstance', [200, 400, 401, 403, 410, 429]),
        ...errors('deleteNamespacedVirtualMachineInstance', [200, 401, 403, 404, 409, 422, 504]),
      ].sort(),
    );
    // Every deviation was needed, and the plain-text 429 was seen.
    const used = new Set([...coreSummary.deviationsUsed.keys(), ...vmiSummary.deviationsUsed.keys()]);
    expect([...used].sort()).toEqual(
      ['401 Status', '429 text', ...ERROR_STATUSES.map((s) => `${s} Status`)].sort(),
    );
  });
});
