import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processRunning } from '@forgejo-fleet/runtime';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadedProviderYaml } from './__fixtures__/loaded-config.js';
import type { CallTimeouts } from './config-schema.js';
import { createEc2Provider } from './ec2/index.js';
import { type InstanceSpec, ProviderError } from './provider.js';
import { createProvider, sharedProviderDeps } from './registry.js';

// Servers that accept a connection and never answer: the cut-off must come from our deadlines.
const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface HungServer {
  readonly url: string;
  /** Each request's method, path and (once fully read) body. */
  readonly requests: { method: string; path: string; body: string }[];
}

async function hungServer(): Promise<HungServer> {
  const requests: HungServer['requests'] = [];
  const server = createServer((req: IncomingMessage) => {
    const entry = { method: req.method ?? '', path: req.url ?? '', body: '' };
    requests.push(entry);
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      entry.body += chunk;
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const FLEET_TAGS = { 'forgejo-fleet': 'acme-ci', 'forgejo-fleet-dispatch': 'd0123456789ab' };
const SPEC: InstanceSpec = {
  name: 'acme-ci-d0123456789ab',
  idempotencyKey: 'acme-ci-d0123456789ab-0-p',
  userData: '#cloud-config\n{}\n',
  tags: FLEET_TAGS,
};

/** Short deadlines for the test; the config's minimum (1 s) is for operators. */
function short(ms: number): CallTimeouts {
  return { create: ms, get: ms, list: ms, delete: ms };
}

async function timed(call: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

const EC2_ENTRY = (url: string) => `
kind: ec2
region: eu-central-1
endpoint: ${url}
credentials: { access_key_id_env: AK, secret_access_key_env: SK }
image_id: ami-0123456789abcdef0
instance_types: [c7a.large]
`;
const AWS_ENV = { AK: 'AKIAFAKEFAKEFAKEFAKE', SK: 'fake-secret-access-key-0123456789' };

function runInstancesCalls(server: HungServer): number {
  return server.requests.filter((r) => r.body.includes('Action=RunInstances')).length;
}

describe('a cloud API that accepts and never answers', () => {
  it('EC2 (real SDK client): create fails at its deadline as transient, RunInstances sent at most 3 times', async () => {
    const server = await hungServer();
    const config = { ...loadedProviderYaml(EC2_ENTRY(server.url), AWS_ENV), call_timeouts: short(400) };
    const provider = createProvider('aws', config, undefined, sharedProviderDeps());

    const { error, ms } = await timed(provider.create(SPEC));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ class: 'transient', retryable: true });
    expect((error as Error).message).toBe(
      'aws: create: deadline of 0.4 s exceeded; the answer is lost, a VM may exist',
    );
    expect(ms).toBeLessThan(1_200);
    expect(runInstancesCalls(server)).toBeGreaterThanOrEqual(1);
    expect(runInstancesCalls(server)).toBeLessThanOrEqual(3);
  });

  it('EC2: SDK retries count against the provider budget: 3 RunInstances in all, then the lookup', async () => {
    const server = await hungServer();
    // No deadline wrapper here: the provider's own loop runs to its end. Deadlines of 1 s give
    // each request 250 ms (a quarter), so the three sends and the lookup take about 2 s.
    const entry = loadedProviderYaml(EC2_ENTRY(server.url), AWS_ENV);
    if (entry.kind !== 'ec2') throw new Error('expected an ec2 entry');
    const config = { ...entry, call_timeouts: short(1_000) };
    const provider = createEc2Provider('aws', config, undefined, { clock: virtualClock() });

    const { error, ms } = await timed(provider.create(SPEC));

    expect(error).toMatchObject({ class: 'transient' });
    expect((error as Error).message).toMatch(/answer lost and the lookup failed too/);
    expect(runInstancesCalls(server)).toBe(3);
    const describes = server.requests.filter((r) => r.body.includes('Action=DescribeInstances'));
    expect(describes.length).toBeGreaterThanOrEqual(1);
    expect(describes.length).toBeLessThanOrEqual(3);
    expect(ms).toBeLessThan(6_000);
  });

  it('Hetzner (undici): create fails at its deadline as transient', async () => {
    const server = await hungServer();
    const entry = `
kind: hetzner
endpoint: ${server.url}
token_env: HT
server_types: [cpx22]
locations: [fsn1]
image: {id: 4711}
`;
    const config = {
      ...loadedProviderYaml(entry, { HT: 'hcloud-token-0123456789' }),
      call_timeouts: short(300),
    };
    const provider = createProvider('hz', config, undefined, sharedProviderDeps());

    const { error, ms } = await timed(provider.create(SPEC));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ class: 'transient' });
    expect((error as Error).message).toBe(
      'hz: create: deadline of 0.3 s exceeded; the answer is lost, a VM may exist',
    );
    expect(ms).toBeLessThan(900);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /servers']);
  });

  it.each(['get', 'list', 'delete'] as const)('Hetzner %s fails at its own deadline', async (verb) => {
    const server = await hungServer();
    const entry = `
kind: hetzner
endpoint: ${server.url}
token_env: HT
server_types: [cpx22]
locations: [fsn1]
image: ubuntu-24.04
`;
    const timeouts = { ...short(60_000), [verb]: 250 };
    const config = {
      ...loadedProviderYaml(entry, { HT: 'hcloud-token-0123456789' }),
      call_timeouts: timeouts,
    };
    const provider = createProvider('hz', config, undefined, sharedProviderDeps());
    const call = {
      get: () => provider.get('42'),
      list: () => provider.list(FLEET_TAGS),
      delete: () => provider.delete('42'),
    };

    const { error, ms } = await timed(call[verb]());

    expect(error).toMatchObject({ class: 'transient' });
    expect((error as Error).message).toContain('deadline of 0.25 s exceeded');
    expect(ms).toBeLessThan(750);
  });
});

describe('a shell provider command that hangs and ignores SIGTERM', () => {
  it('is killed at its deadline, with its children, and the create fails as transient', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-hung-shell-'));
    const pidFile = join(dir, 'pids');
    const script = fileURLToPath(new URL('./shell/__fixtures__/hang-stubborn.sh', import.meta.url));
    const entry = `
kind: shell
command: [${script}]
timeout: 10s
env: { FIXTURE_PID_FILE: ${pidFile} }
`;
    const config = { ...loadedProviderYaml(entry), call_timeouts: short(300) };
    const provider = createProvider('local', config, undefined, { shell: { killGraceMs: 100 } });

    const { error, ms } = await timed(provider.create(SPEC));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ class: 'transient' });
    expect((error as Error).message).toMatch(/^local: (shell )?create: deadline of 0.3 s exceeded/);
    expect(ms).toBeLessThan(900);
    const pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    // SIGTERM is ignored: SIGKILL follows after the grace period (100 ms here).
    await vi.waitFor(() => {
      for (const pid of pids) expect(processRunning(pid)).toBe(false);
    }, 10_000);
  });
});
