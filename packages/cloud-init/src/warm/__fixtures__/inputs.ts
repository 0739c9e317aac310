import type { WarmBootstrap } from '../bootstrap.js';

export const SECRET = 'Zm9yZ2Vqby1mbGVldC1vbmUtdGltZS1zZWNyZXQtMDAx';
export const VM_ID = 'wk4xq2m7bz3ca';
export const TOKEN = 'e1f3d26e034687a2b6856c4c6c3d87a469ff3bea';
export const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/** Host labels, runner baked into the image. */
export function warmHost(overrides: Partial<WarmBootstrap> = {}): WarmBootstrap {
  return {
    agentUrl: 'https://fleet.example.com:8443',
    vmId: VM_ID,
    secret: SECRET,
    labels: ['linux:host', 'small:host'],
    install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
    fleetId: 'prod-eu',
    ...overrides,
  };
}

/** Docker labels, runner downloaded at boot, Docker installed if missing. */
export function warmDockerDownload(overrides: Partial<WarmBootstrap> = {}): WarmBootstrap {
  return warmHost({
    agentUrl: 'https://fleet.example.com:8443/fleet/',
    labels: ['debian:docker://node:22-bookworm', 'ephemeral:docker://node:22-bookworm'],
    install: {
      mode: 'download',
      url: 'https://code.forgejo.org/forgejo/runner/releases/download/v12.8.2/forgejo-runner-12.8.2-linux-amd64',
      sha256: SHA256,
    },
    docker: { install: true },
    maxIdleSeconds: 7200,
    ...overrides,
  });
}

/** What the dispatcher answers a poll with once it has a job for the VM (protocol shape). */
export function assignment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instance_url: 'https://git.example.com',
    runner: { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: TOKEN, name: 'ff-wk4xq2m7bz3ca' },
    handle: '33ba7d51-59c6-44f8-9d2b-1b94f4033973',
    labels: ['linux:host', 'small:host'],
    job_timeout_seconds: 21600,
    ...overrides,
  };
}
