import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { bakedDocker, downloadHost, TOKEN } from './__fixtures__/inputs.js';
import { exists, RUNNER_STUB, runBootstrap } from './__fixtures__/sandbox.js';
import { renderUserData } from './render.js';

// These run the real rendered script with dash against stubs: whatever happens, the token
// file is gone, the exit is logged without the token, and poweroff is called.

const stubSha = createHash('sha256').update(RUNNER_STUB).digest('hex');
const hostBaked = renderUserData(
  bakedDocker({
    labels: ['vm:host'],
    install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
  }),
);

async function expectPoweredOff(run: Awaited<ReturnType<typeof runBootstrap>>) {
  expect(await run.calls('poweroff')).not.toBe('');
  expect(await exists(run.tokenPath)).toBe(false);
  expect(run.output).not.toContain(TOKEN);
}

describe('bootstrap script', () => {
  it('runs one-job with the token file at 0600, logs the exit code and powers off', async () => {
    const run = await runBootstrap(hostBaked, { env: { STUB_FORGEJO_RUNNER_EXIT: '0' } });

    expect(run.code).toBe(0);
    expect(await run.calls('token-mode')).toBe('600\n');
    expect(await run.calls('token-seen')).toBe(TOKEN);
    expect(await run.calls('forgejo-runner')).toMatch(
      /^-c \S+\/runner.yaml one-job --url .* --label vm:host --handle \S+ --wait\n$/,
    );
    expect(run.output).toContain('forgejo-runner exited 0');
    expect(await run.calls('shutdown')).toMatch(/^-P \+\d+\n$/);
    await expectPoweredOff(run);
  });

  it.each([
    ['runner failure', { env: { STUB_FORGEJO_RUNNER_EXIT: '1' } }, 1, 'forgejo-runner exited 1'],
    [
      'job timeout',
      { jobTimeout: 1, env: { STUB_RUNNER_SLEEP: '5' } },
      124,
      'stopped by the job timeout (exit 124)',
    ],
    ['missing token file', { noToken: true }, 1, 'runner token file'],
  ])('powers off after %s', async (_case, options, code, message) => {
    const run = await runBootstrap(hostBaked, options);

    expect(run.code).toBe(code);
    expect(run.output).toContain(message);
    await expectPoweredOff(run);
  });

  it('installs a downloaded runner 0755 when the sha256 matches', async () => {
    const url = 'https://dl.example/forgejo-runner?version=12.8.2&arch=amd64';
    const userData = renderUserData(downloadHost({ install: { mode: 'download', url, sha256: stubSha } }));

    const run = await runBootstrap(userData, { stubs: ['curl'] });

    expect(run.code).toBe(0);
    expect(await run.calls('curl')).toMatch(
      / -o \S+ https:\/\/dl\.example\/forgejo-runner\?version=12\.8\.2&arch=amd64\n$/,
    );
    expect((await stat(run.runnerPath)).mode & 0o777).toBe(0o755);
    expect(await run.calls('forgejo-runner')).not.toContain('--handle');
    await expectPoweredOff(run);
  });

  it.each([
    ['sha256 mismatch', { stubs: ['curl'], download: 'tampered' }, 'sha256 mismatch'],
    ['download failure', { stubs: ['curl'], env: { STUB_CURL_EXIT: '22' } }, 'download failed'],
    ['no curl or wget', {}, 'neither curl nor wget'],
  ])('aborts and powers off on %s without running the runner', async (_case, options, message) => {
    const userData = renderUserData(
      downloadHost({
        install: { mode: 'download', url: 'https://dl.example/forgejo-runner', sha256: stubSha },
      }),
    );

    const run = await runBootstrap(userData, options);

    expect(run.code).toBe(1);
    expect(run.output).toContain(message);
    expect(await run.calls('forgejo-runner')).toBe('');
    await expectPoweredOff(run);
  });

  it('blocks the metadata service in DOCKER-USER and FORWARD before a docker job', async () => {
    const run = await runBootstrap(renderUserData(bakedDocker()), {
      stubs: ['docker', 'iptables', 'ip6tables'],
      env: { STUB_IPTABLES_EXIT: '0' },
    });

    expect(run.code).toBe(0);
    expect(await run.calls('docker')).toBe('info\n');
    const v4 = await run.calls('iptables');
    expect(v4).toContain('-w -C DOCKER-USER -d 169.254.169.254 -j DROP');
    expect(v4).toContain('-w -C FORWARD -d 169.254.169.254 -j DROP');
    expect(await run.calls('ip6tables')).toContain('DOCKER-USER -d fd00:ec2::254 -j DROP');
    await expectPoweredOff(run);
  });

  it.each([
    ['Docker is missing and docker.install is false', { stubs: ['iptables'] }, 'a docker label needs Docker'],
    [
      'iptables fails',
      { stubs: ['docker', 'iptables'], env: { STUB_IPTABLES_EXIT: '1' } },
      'could not block',
    ],
    ['no firewall tool exists', { stubs: ['docker'] }, 'cannot block the metadata service'],
  ])('refuses to run a docker job when %s', async (_case, options, message) => {
    const run = await runBootstrap(renderUserData(bakedDocker()), options);

    expect(run.code).toBe(1);
    expect(run.output).toContain(message);
    expect(await run.calls('forgejo-runner')).toBe('');
    await expectPoweredOff(run);
  });

  it('installs docker.io with apt when asked and Docker is missing', async () => {
    const userData = renderUserData(bakedDocker({ docker: { install: true } }));

    const run = await runBootstrap(userData, {
      stubs: ['apt-get', 'iptables'],
      // "Installing" puts a docker stub on PATH.
      stubBodies: {
        'apt-get': `printf '#!/bin/sh\\n' > "$SANDBOX/bin/docker"; chmod 755 "$SANDBOX/bin/docker"`,
      },
    });

    expect(run.code).toBe(0);
    expect(await run.calls('apt-get')).toMatch(/update\n.*install --no-install-recommends docker\.io\n$/);
    expect(await run.calls('forgejo-runner')).toContain('--label debian:docker://node:22-bookworm');
    await expectPoweredOff(run);
  });
});
