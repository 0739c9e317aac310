import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  b64,
  call,
  type Json,
  ownedBy,
  PODS,
  runnerPod,
  runnerVmi,
  SECRETS,
  startForgejoWorld,
  until,
  VMIS,
} from './__fixtures__/world.js';
import { type RunningFakeKubernetes, startFakeKubernetes } from './server.js';

// The fake kubelet (contract 3): real user-data from renderUserData, turned into a pod by
// podBootstrapFromUserData or handed to a VMI in a Secret, runs the fake runner against a fake Forgejo.

let now = Date.UTC(2026, 11, 7, 12);
let kube: RunningFakeKubernetes;
let world: Awaited<ReturnType<typeof startForgejoWorld>>;

beforeEach(async () => {
  now = Date.UTC(2026, 11, 7, 12);
  world = await startForgejoWorld();
  kube = await startFakeKubernetes({ now: () => now, kubelet: { fetchInterval: '10ms', jobMs: 0 } });
});

afterEach(async () => {
  await kube.close();
  await world.close();
});

const pod = (name: string) => kube.object('pods', 'default', name) as Json;
const vmi = (name: string) => kube.object('virtualmachineinstances', 'default', name) as Json;

describe('fake kubelet, pods', () => {
  it('runs a job: Pending in ContainerCreating until its Secret exists, Running, Succeeded; then nothing is left', async () => {
    const { job, reg, userData } = await world.job();
    const { pod: manifest, secret } = runnerPod('ff-job-1', userData);

    const created = await call(kube, 'POST', PODS, manifest);
    expect(created.status).toBe(201);
    kube.tick();
    expect(pod('ff-job-1').spec.nodeName).toBe('fake-node-1');
    expect(pod('ff-job-1').status).toMatchObject({
      phase: 'Pending',
      containerStatuses: [
        { name: 'runner', ready: false, state: { waiting: { reason: 'ContainerCreating' } } },
      ],
    });

    expect((await call(kube, 'POST', SECRETS, secret(created.json))).status).toBe(201);
    expect(pod('ff-job-1').status.phase).toBe('Running');
    await until(kube, () => pod('ff-job-1').status.phase === 'Succeeded', 'the pod to succeed');

    expect(pod('ff-job-1').status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    expect(world.forgejo.jobs().find((j) => j.id === job.id)?.status).toBe('success');
    expect(world.forgejo.runners().find((r) => r.id === reg.id)?.deleted).toBe(true);
    expect(kube.logs('pods', 'default', 'ff-job-1').join('\n')).toContain('declared successfully');

    const deleted = await call(kube, 'DELETE', `${PODS}/ff-job-1`);
    expect(deleted.json.metadata.deletionTimestamp).toBeDefined();
    await kube.settle();
    expect(kube.pods()).toEqual([]);
    expect(kube.secrets()).toEqual([]);
  });

  it('ends the pod Failed with DeadlineExceeded at activeDeadlineSeconds and stops the runner', async () => {
    const { job, userData } = await world.job();
    world.forgejo.cancelJob(job.handle);
    const { pod: manifest, secret } = runnerPod('ff-job-2', userData);
    manifest.spec.activeDeadlineSeconds = 60;
    const created = await call(kube, 'POST', PODS, manifest);
    await call(kube, 'POST', SECRETS, secret(created.json));
    await until(
      kube,
      () => kube.logs('pods', 'default', 'ff-job-2').some((l) => l.includes('poller launched')),
      'polling',
    );

    now += 59_000;
    kube.tick();
    expect(pod('ff-job-2').status.phase).toBe('Running');
    now += 1_000;
    kube.tick();
    expect(pod('ff-job-2').status).toMatchObject({
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: 'Pod was active on the node longer than the specified deadline',
    });
    await kube.settle();
    expect(kube.logs('pods', 'default', 'ff-job-2').at(-1)).toContain('shutting down');
  });

  it('stops the runner when the pod is deleted, and keeps the pod until the grace is over', async () => {
    const { job, userData } = await world.job();
    world.forgejo.cancelJob(job.handle);
    const { pod: manifest, secret } = runnerPod('ff-job-3', userData);
    const created = await call(kube, 'POST', PODS, manifest);
    await call(kube, 'POST', SECRETS, secret(created.json));
    await until(
      kube,
      () => kube.logs('pods', 'default', 'ff-job-3').some((l) => l.includes('poller launched')),
      'polling',
    );

    await call(kube, 'DELETE', `${PODS}/ff-job-3`);
    await until(
      kube,
      () => kube.logs('pods', 'default', 'ff-job-3').some((l) => l.includes('shutting down')),
      'the runner to stop',
    );
    expect(pod('ff-job-3').metadata.deletionTimestamp).toBe('2026-12-07T12:00:30Z');
    now += 2_000;
    kube.tick();
    expect(kube.pods()).toEqual([]);
    expect(kube.secrets()).toEqual([]);
  });

  it('reads the files through items and subPath, and fails a pod whose files run no one-job', async () => {
    const { userData } = await world.job();
    const { boot } = runnerPod('unused', userData);
    const items = {
      metadata: { name: 'via-items' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'runner',
            image: 'r:1',
            command: ['/bin/sh', '/opt/boot/run.sh'],
            volumeMounts: [
              { name: 'a', mountPath: '/opt/boot/run.sh', subPath: 'script' },
              { name: 'b', mountPath: boot.mountPath },
            ],
          },
        ],
        volumes: [
          {
            name: 'a',
            secret: { secretName: 'via-items', items: [{ key: 'bootstrap.sh', path: 'script' }] },
          },
          {
            name: 'b',
            secret: { secretName: 'via-items', items: [{ key: 'runner-token', path: 'runner-token' }] },
          },
          { name: 'c', secret: { secretName: 'absent', optional: true } },
        ],
      },
    };
    const created = await call(kube, 'POST', PODS, items);
    await call(kube, 'POST', SECRETS, {
      metadata: { name: 'via-items', ownerReferences: ownedBy(created.json) },
      stringData: boot.files,
    });
    await until(kube, () => pod('via-items').status.phase === 'Succeeded', 'the pod to succeed');

    const bad = await call(kube, 'POST', PODS, {
      metadata: { name: 'no-runner' },
      spec: {
        containers: [{ name: 'c', image: 'r:1', volumeMounts: [{ name: 's', mountPath: '/x' }] }],
        volumes: [{ name: 's', secret: { secretName: 'plain' } }],
      },
    });
    await call(kube, 'POST', SECRETS, {
      metadata: { name: 'plain', ownerReferences: ownedBy(bad.json) },
      data: { a: b64('hi') },
    });
    expect(pod('no-runner').status).toMatchObject({
      phase: 'Failed',
      containerStatuses: [{ state: { terminated: { exitCode: 1, reason: 'Error' } } }],
    });
    expect(kube.logs('pods', 'default', 'no-runner')).toEqual([
      'fake kubelet: no mounted file or command runs forgejo-runner one-job',
    ]);
  });

  it('waits while an item names a key the Secret lacks, and leaves a pinned pod alone', async () => {
    await call(kube, 'POST', PODS, {
      metadata: { name: 'missing-key' },
      spec: {
        containers: [{ name: 'c', image: 'r:1', volumeMounts: [{ name: 's', mountPath: '/x' }] }],
        volumes: [{ name: 's', secret: { secretName: 'k', items: [{ key: 'nope', path: 'n' }] } }],
      },
    });
    await call(kube, 'POST', SECRETS, { metadata: { name: 'k' }, data: { a: b64('1') } });
    expect(pod('missing-key').status.containerStatuses[0].state.waiting.reason).toBe('ContainerCreating');

    kube.setStatus('pods', 'default', 'missing-key', { phase: 'Pending', reason: 'Unschedulable' });
    now += 3_600_000;
    kube.tick();
    expect(pod('missing-key').status).toEqual({ phase: 'Pending', reason: 'Unschedulable' });
  });
});

describe('fake kubelet, KubeVirt VMIs', () => {
  it('boots the user-data from the Secret, runs the job, powers off (Succeeded); deletion waits for the launcher pod', async () => {
    const { job, userData } = await world.job();
    const created = await call(kube, 'POST', VMIS, runnerVmi('ff-vm-1', { dispatch: 'd1' }));
    expect(created.status).toBe(201);
    expect(created.json.status).toEqual({});
    kube.tick();
    expect(vmi('ff-vm-1').status.phase).toBe('Scheduling');
    expect(vmi('ff-vm-1').metadata.finalizers).toEqual(['kubevirt.io/foregroundDeleteVirtualMachine']);
    const [launcher] = kube.pods();
    expect(launcher?.metadata.name).toMatch(/^virt-launcher-ff-vm-1-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(launcher?.metadata.labels).toEqual({
      'forgejo-fleet/fleet': 'test',
      dispatch: 'd1',
      'kubevirt.io': 'virt-launcher',
      'kubevirt.io/created-by': created.json.metadata.uid,
    });

    await call(kube, 'POST', SECRETS, {
      metadata: { name: 'ff-vm-1', ownerReferences: ownedBy(created.json) },
      data: { userdata: b64(userData) },
    });
    expect(vmi('ff-vm-1').status).toMatchObject({ phase: 'Running', nodeName: 'fake-node-1' });
    await until(kube, () => vmi('ff-vm-1').status.phase === 'Succeeded', 'the VMI to power off');
    expect(world.forgejo.jobs().find((j) => j.id === job.id)?.status).toBe('success');
    expect((kube.pods()[0] as Json | undefined)?.status?.phase).toBe('Succeeded');
    expect(vmi('ff-vm-1').status.phaseTransitionTimestamps.map((t: Json) => t.phase)).toEqual([
      'Scheduling',
      'Running',
      'Succeeded',
    ]);

    const deleted = await call(kube, 'DELETE', `${VMIS}/ff-vm-1`);
    expect(deleted.json).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'ff-vm-1', kind: 'virtualmachineinstances' },
    });
    expect(vmi('ff-vm-1').metadata.deletionTimestamp).toBe('2026-12-07T12:00:30Z');
    now += 1_000;
    kube.tick();
    expect(vmi('ff-vm-1')).toBeDefined();
    now += 1_000;
    kube.tick();
    expect(kube.vmis()).toEqual([]);
    expect(kube.pods()).toEqual([]);
    expect(kube.secrets()).toEqual([]);
  });

  it('reads a userData key, and keeps a guest whose user-data runs nothing Running', async () => {
    await call(kube, 'POST', VMIS, runnerVmi('ff-vm-2'));
    await call(kube, 'POST', SECRETS, {
      metadata: { name: 'ff-vm-2' },
      data: { userData: b64('#cloud-config\n{}\n') },
    });
    expect(vmi('ff-vm-2').status.phase).toBe('Running');
    expect(kube.logs('virtualmachineinstances', 'default', 'ff-vm-2')).toEqual([
      'fake kubelet: no write_files entry runs forgejo-runner one-job',
    ]);
  });

  it.each([
    ['not YAML', { userData: '#cloud-config\n: : :\n  - ]' }, 'the user-data is not YAML'],
    ['not a cloud-config', { userData: '- a list' }, 'the user-data is not a #cloud-config with write_files'],
    [
      'no token file',
      {
        userDataBase64: b64(
          "#cloud-config\nwrite_files:\n- path: /s\n  content: one-job --token-url 'file:///t'\n",
        ),
      },
      'the token file /t is not mounted',
    ],
    [
      'no token URL',
      { userData: '#cloud-config\nwrite_files:\n- path: /s\n  content: one-job\n' },
      'the bootstrap script names no --token-url file://',
    ],
  ])('logs why inline user-data (%s) runs nothing', async (_name, source, message) => {
    const manifest = runnerVmi('inline');
    manifest.spec.volumes[1] = { name: 'cloudinit', cloudInitNoCloud: source } as never;
    await call(kube, 'POST', VMIS, manifest);
    expect(vmi('inline').status.phase).toBe('Running');
    expect(kube.logs('virtualmachineinstances', 'default', 'inline')).toEqual([`fake kubelet: ${message}`]);
  });

  it('reports a VMI over the pod quota as FailedCreate, and creates its launcher once the quota frees', async () => {
    kube.setQuota('default', { pods: 1, name: 'runners' });
    await call(kube, 'POST', VMIS, runnerVmi('first'));
    const second = await call(kube, 'POST', VMIS, runnerVmi('second'));
    expect(second.status).toBe(201);
    kube.tick();
    expect(vmi('second').status).toMatchObject({
      phase: 'Pending',
      conditions: [
        {
          type: 'Synchronized',
          status: 'False',
          reason: 'FailedCreate',
          message: expect.stringMatching(
            /^failed to create virtual machine pod: pods "virt-launcher-second-\w{5}" is forbidden: exceeded quota: runners, requested: pods=1, used: pods=1, limited: pods=1$/,
          ),
        },
      ],
    });
    const version = vmi('second').metadata.resourceVersion;
    kube.tick();
    expect(vmi('second').metadata.resourceVersion).toBe(version);

    kube.setQuota('default', undefined);
    kube.tick();
    expect(vmi('second').status.phase).toBe('Scheduling');
    expect(kube.pods()).toHaveLength(2);
  });

  it('fails a VMI whose launcher pod is deleted under it', async () => {
    await call(kube, 'POST', VMIS, runnerVmi('orphaned'));
    kube.tick();
    const launcher = kube.pods()[0]?.metadata.name;
    await call(kube, 'DELETE', `${PODS}/${launcher}?gracePeriodSeconds=0`);
    expect(vmi('orphaned').status.phase).toBe('Failed');
  });
});
