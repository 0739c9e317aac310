import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAutoscalerConfig } from './autoscaler/load.js';
import { loadDispatcherConfig } from './dispatcher/load.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// The examples point at credential files; give every one a distinct value.
function readFile(path: string): string {
  if (path.startsWith('/run/credentials/')) return `secret:${path}`;
  return readFileSync(path, 'utf8');
}
const env = { CREDENTIALS_DIRECTORY: '/run/credentials/fleet' };

describe('the example configs at the repository root', () => {
  it('config.example.yaml validates', () => {
    const config = loadDispatcherConfig(`${root}config.example.yaml`, { env, readFile });
    expect(config.fleet_id).toBe('acme-ci');
    expect(Object.keys(config.providers)).toEqual(['hetzner-fsn', 'aws-eu', 'local', 'k8s-pods', 'k8s-vms']);
    expect(config.scopes.map((s) => s.key)).toEqual(['org:acme', 'user:alice']);
  });

  it('autoscaler.example.yaml validates', () => {
    const config = loadAutoscalerConfig(`${root}autoscaler.example.yaml`, { env, readFile });
    expect(config.scopes.map((s) => s.key)).toEqual(['org:acme', 'user:alice', 'repo:alice/website']);
    expect(config.webhook?.secret.reveal()).toBe('secret:/run/credentials/fleet/webhook-secret');
  });
});
