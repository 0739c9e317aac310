import type { RunnerBootstrap } from '../bootstrap.js';

export const TOKEN = 'e1f3d26e034687a2b6856c4c6c3d87a469ff3bea';
export const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/** Handle-driven dispatch, runner baked into the image, Docker labels. */
export function bakedDocker(overrides: Partial<RunnerBootstrap> = {}): RunnerBootstrap {
  return {
    instanceUrl: 'https://forgejo.example.org/',
    runner: { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: TOKEN, name: 'ff-0CEY3JWJ6A4ZK' },
    handle: '33ba7d51-59c6-44f8-9d2b-1b94f4033973',
    labels: ['debian:docker://node:22-bookworm', 'ephemeral:docker://node:22-bookworm'],
    install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
    jobTimeoutSeconds: 3600,
    docker: { install: false },
    dispatchId: 'dsp_01JABCDEF',
    fleetId: 'prod-eu',
    ...overrides,
  };
}

/** Manual dispatch (no handle), runner downloaded at boot, host labels. */
export function downloadHost(overrides: Partial<RunnerBootstrap> = {}): RunnerBootstrap {
  return {
    instanceUrl: 'http://forgejo.internal:3000/git/',
    runner: { uuid: '0b9d3c1e-55aa-4e8f-9a63-2c4f1d7e8b90', token: TOKEN, name: 'ff-manual-1' },
    labels: ['vm-small:host', 'linux-amd64:host'],
    install: {
      mode: 'download',
      url: 'https://code.forgejo.org/forgejo/runner/releases/download/v12.8.2/forgejo-runner-12.8.2-linux-amd64',
      sha256: SHA256,
    },
    jobTimeoutSeconds: 5400,
    ...overrides,
  };
}

/** A realistic maximum: 20 docker labels with registry-qualified, digest-pinned images. */
export function twentyLabels(): RunnerBootstrap {
  const image = `registry.example.org:5000/ci/runner-images/debian-bookworm-full@sha256:${SHA256}`;
  return bakedDocker({
    labels: Array.from({ length: 20 }, (_, i) => `runner-label-number-${i}:docker://${image}`),
    docker: { install: true },
  });
}
