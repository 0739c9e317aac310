import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderUserData } from '@forgejo-fleet/cloud-init';
import { type RunningFakeForgejo, startFakeForgejo } from '@forgejo-fleet/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Provider } from '../provider.js';
import { createShellProvider } from '../shell/index.js';
import { describeProviderConformance } from './index.js';

// The demo's local VM provider (scripts/providers/local.ts) through the shell provider.
const LOCAL_SH = fileURLToPath(new URL('../../../../scripts/providers/local.sh', import.meta.url));
const UUID = '0b9d3c1e-55aa-4e8f-9a63-2c4f1d7e8b90';
const TOKEN = 'e1f3d26e034687a2b6856c4c6c3d87a469ff3bea';

async function localProvider(env: Record<string, string> = {}) {
  const state = await mkdtemp(join(tmpdir(), 'forgejo-fleet-local-'));
  const provider = createShellProvider(
    'local',
    {
      command: [LOCAL_SH],
      timeout: 20_000,
      env: { FORGEJO_FLEET_LOCAL_STATE: state, FAKE_RUNNER_JOB_MS: '0', ...env },
      secret_files: [],
    },
    { env: process.env },
  );
  return { provider, state, cleanup: () => rm(state, { recursive: true, force: true }) };
}

function userData(o: { url: string; uuid?: string; token?: string; handle?: string }) {
  return renderUserData({
    instanceUrl: o.url,
    runner: { uuid: o.uuid ?? UUID, token: o.token ?? TOKEN, name: 'ff-local-1' },
    ...(o.handle === undefined ? {} : { handle: o.handle }),
    labels: ['vm-small:host'],
    install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
    jobTimeoutSeconds: 600,
    fleetId: 'conformance',
  });
}

// Nothing listens on port 9: the fake runner's Declare fails and the "VM" powers off, which the
// suite accepts (a stopped instance still exists until it is deleted).
describeProviderConformance('shell + scripts/providers/local.sh', localProvider, {
  userData: userData({ url: 'http://127.0.0.1:9/' }),
  unknownId: 'local-000000000000',
});

describe('local VM provider', () => {
  let forgejo: RunningFakeForgejo;
  let subject: Awaited<ReturnType<typeof localProvider>>;
  let provider: Provider;
  let pat: string;

  beforeAll(async () => {
    forgejo = await startFakeForgejo();
    forgejo.addUser({ name: 'alice' });
    forgejo.addOrg({ name: 'acme', owners: ['alice'] });
    forgejo.addRepo({ owner: 'acme', name: 'app' });
    pat = forgejo.addToken({ user: 'alice', scopes: ['write:organization'] });
  });
  afterAll(async () => {
    await forgejo.close();
  });
  beforeAll(async () => {
    subject = await localProvider();
    provider = subject.provider;
  });
  afterEach(async () => {
    for (const instance of await provider.list({})) await provider.delete(instance.id);
  });
  afterAll(async () => {
    await subject.cleanup();
  });

  async function registerRunner(): Promise<{ uuid: string; token: string }> {
    const res = await fetch(`${forgejo.url}/api/v1/orgs/acme/actions/runners`, {
      method: 'POST',
      headers: { Authorization: `token ${pat}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'ff-local-1', ephemeral: true }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { uuid: string; token: string };
  }

  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  }

  it('boots: runs the job of the rendered user-data with the fake runner, then powers off', async () => {
    const job = forgejo.enqueueJob({ repo: 'acme/app', runsOn: ['vm-small'] });
    const runner = await registerRunner();
    const spec = {
      name: 'ff-job-1',
      idempotencyKey: 'dsp-job-1',
      userData: userData({ url: `${forgejo.url}/`, ...runner, handle: job.handle }),
      tags: { 'forgejo-fleet-fleet': 'local-e2e' },
    };

    const instance = await provider.create(spec);
    await vi.waitFor(async () => expect((await provider.get(instance.id))?.state).toBe('stopped'), {
      timeout: 15_000,
      interval: 100,
    });

    expect(forgejo.jobs().find((j) => j.handle === job.handle)?.status).toBe('success');
    const files = await filesUnder(subject.state);
    expect(files.some((f) => f.endsWith('runner-token'))).toBe(false);
    for (const file of files) expect(await readFile(file, 'utf8')).not.toContain(runner.token);
    const console = await readFile(join(subject.state, 'instances', instance.id, 'console.log'), 'utf8');
    expect(console).toContain('forgejo-runner exited 0');
  });

  it('writes the token 0600 in a 0700 instance directory; delete stops the VM and removes its state', async () => {
    // No such job: with --wait the runner keeps polling until it is killed.
    const spec = {
      name: 'ff-job-2',
      idempotencyKey: 'dsp-job-2',
      userData: userData({
        url: `${forgejo.url}/`,
        ...(await registerRunner()),
        handle: crypto.randomUUID(),
      }),
      tags: { 'forgejo-fleet-fleet': 'local-e2e' },
    };

    const instance = await provider.create(spec);
    const dir = join(subject.state, 'instances', instance.id);
    await vi.waitFor(async () => expect((await provider.get(instance.id))?.state).toBe('running'), {
      timeout: 10_000,
      interval: 100,
    });

    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'runner-token'))).mode & 0o777).toBe(0o600);
    expect(await provider.delete(instance.id)).toBe('deleted');
    expect(await readdir(join(subject.state, 'instances'))).toEqual([]);
    expect(await readdir(join(subject.state, 'keys'))).toEqual([]);
    expect(await provider.get(instance.id)).toBeUndefined();
  });

  it('a user-data without a runner boots and powers off at once', async () => {
    const instance = await provider.create({
      name: 'ff-empty',
      idempotencyKey: 'dsp-empty',
      userData: '#!/bin/sh\necho hello\n',
      tags: {},
    });

    await vi.waitFor(async () => expect((await provider.get(instance.id))?.state).toBe('stopped'), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('rejects a bad request with a fatal error that names the field, not the value', async () => {
    const error = await provider
      .create({ name: 'Not A Hostname', idempotencyKey: 'k', userData: TOKEN, tags: {} })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ class: 'fatal' });
    expect(String(error)).toContain('stdin spec.name: expected a hostname');
    expect(String(error)).not.toContain(TOKEN);
  });
});
