import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bakedDocker, downloadHost, TOKEN } from '../__fixtures__/inputs.js';
import { BOOTSTRAP_PATH } from '../paths.js';
import { renderUserData } from '../render.js';
import { shellcheck } from '../warm/__fixtures__/agent-sandbox.js';
import { FORBIDDEN, type PodRun, runPod } from './__fixtures__/pod-sandbox.js';
import { POD_SCRIPT_KEY, type PodBootstrap, podBootstrapFromUserData } from './bootstrap.js';

// The VM's bootstrap script run the way a pod runs it (pod-sandbox.ts): whatever happens it
// exits with the runner's status and touches nothing a container must not (poweroff, installs,
// the host firewall, the read-only token mount).

const shellcheckAvailable = (await shellcheck('#!/bin/sh\ntrue\n')).code !== 'missing';

const hostPod = podBootstrapFromUserData(
  renderUserData(bakedDocker({ labels: ['pod:host', 'ubuntu-latest:host'] })),
);
const downloadPod = podBootstrapFromUserData(renderUserData(downloadHost()));
const dockerPod = podBootstrapFromUserData(renderUserData(bakedDocker()));

async function expectContained(run: PodRun) {
  for (const tool of FORBIDDEN) expect(await run.calls(tool), tool).toBe('');
  expect(run.output).toContain(`bootstrap exit status ${run.code}; the container exits`);
  expect(run.output).not.toContain('powering off');
  expect(run.output).not.toContain(TOKEN);
}

function syntaxCheck(script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = execFile('/bin/sh', ['-n'], (error) =>
      resolve(typeof error?.code === 'number' ? error.code : 0),
    );
    child.stdin?.end(script);
  });
}

describe('the bootstrap script in a pod', () => {
  it('runs one-job with the mounted 0400 token and exits 0 without powering off', async () => {
    const run = await runPod(hostPod, { env: { STUB_FORGEJO_RUNNER_EXIT: '0' } });

    expect(run.code).toBe(0);
    expect(await run.calls('token-mode')).toBe('400\n');
    expect(await run.calls('token-seen')).toBe(TOKEN);
    expect(await run.calls('forgejo-runner')).toBe(
      `-c ${run.mountDir}/runner.yaml one-job --url https://forgejo.example.org/ --uuid d4637a60-7fea-4075-a81c-7e4ae01bdf0d --token-url file://${run.mountDir}/runner-token --label pod:host --label ubuntu-latest:host --handle 33ba7d51-59c6-44f8-9d2b-1b94f4033973 --wait\n`,
    );
    expect(run.output).toContain('in a container the metadata block is the cluster');
    await expectContained(run);
  });

  it.each<[string, PodBootstrap, Parameters<typeof runPod>[1], number, string]>([
    ['the runner fails', hostPod, { env: { STUB_FORGEJO_RUNNER_EXIT: '3' } }, 3, 'forgejo-runner exited 3'],
    [
      'the job timeout stops the runner',
      hostPod,
      { jobTimeout: 1, env: { STUB_RUNNER_SLEEP: '5' } },
      124,
      'stopped by the job timeout (exit 124)',
    ],
    ['the runner is downloaded on VMs', downloadPod, {}, 0, 'forgejo-runner exited 0'],
  ])('exits with the runner status when %s', async (_case, pod, options, code, message) => {
    const run = await runPod(pod, options);

    expect(run.code).toBe(code);
    expect(run.output).toContain(message);
    expect(await run.calls('forgejo-runner')).toContain(' one-job ');
    await expectContained(run);
  });

  it('waits for a Docker the pod can reach, without installing or starting one', async () => {
    const run = await runPod(dockerPod, { stubs: ['docker'] });

    expect(run.code).toBe(0);
    expect(await run.calls('docker')).toBe('info\n');
    await expectContained(run);
  });

  it.each<[string, PodBootstrap, Parameters<typeof runPod>[1], string]>([
    ['a docker label finds no Docker', dockerPod, {}, 'which the runner pod does not have: use host labels'],
    [
      'the token file is missing',
      { ...hostPod, files: { ...hostPod.files, 'runner-token': '' } },
      {},
      'runner token file',
    ],
    [
      'the script has a host user',
      {
        ...hostPod,
        files: {
          ...hostPod.files,
          [POD_SCRIPT_KEY]: (hostPod.files[POD_SCRIPT_KEY] ?? '').replace("HOST_USER=''", "HOST_USER='ci'"),
        },
      },
      {},
      'runner.host_user does not apply in a pod',
    ],
  ])('fails with status 1 before the runner when %s', async (_case, pod, options, message) => {
    const run = await runPod(pod, options);

    expect(run.code).toBe(1);
    expect(run.output).toContain(message);
    expect(await run.calls('forgejo-runner')).toBe('');
    await expectContained(run);
  });

  it('is the VM script, valid sh', async () => {
    const script = hostPod.files[POD_SCRIPT_KEY] ?? '';

    expect(script).toContain(`# forgejo-fleet: run exactly one Forgejo Actions job`);
    expect(renderUserData(bakedDocker({ labels: ['pod:host', 'ubuntu-latest:host'] }))).toContain(
      BOOTSTRAP_PATH,
    );
    expect(await syntaxCheck(script)).toBe(0);
  });

  // The same exclusions as render.test.ts: SC2317 (trap handlers), SC2174 (mkdir -p -m).
  it.skipIf(!shellcheckAvailable).each([
    ['host labels', hostPod],
    ['docker labels', dockerPod],
  ])('is shellcheck-clean with %s', async (_case, pod) => {
    expect(await shellcheck(pod.files[POD_SCRIPT_KEY] ?? '', ['SC2317', 'SC2174'])).toEqual({
      code: 0,
      output: '',
    });
  });
});
