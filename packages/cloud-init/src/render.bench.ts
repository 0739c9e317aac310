import { bench, describe } from 'vitest';
import { renderUserData } from './render.js';
import { renderWarmUserData } from './warm/render.js';

const input = {
  instanceUrl: 'https://git.example.com/',
  runner: {
    uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d',
    token: 'e1f3d26e034687a2b6856c4c6c3d87a469ff3bea',
    name: 'ff-1',
  },
  handle: '33ba7d51-59c6-44f8-9d2b-1b94f4033973',
  labels: ['linux:docker://node:22-bookworm', 'small:docker://node:22-bookworm'],
  install: { mode: 'baked' as const, binaryPath: '/usr/local/bin/forgejo-runner' },
  jobTimeoutSeconds: 10_800,
};

describe('cloud-init', () => {
  // Runs once per dispatch on the hot path between registration and provider.create.
  bench('renderUserData', () => {
    renderUserData(input);
  });

  // Once per warm VM the pool creates, off the job's path.
  bench('renderWarmUserData', () => {
    renderWarmUserData({
      agentUrl: 'https://fleet.example.com:8443',
      vmId: 'wk4xq2m7bz3ca',
      secret: 'Zm9yZ2Vqby1mbGVldC1vbmUtdGltZS1zZWNyZXQtMDAx',
      labels: input.labels,
      install: input.install,
    });
  });
});
