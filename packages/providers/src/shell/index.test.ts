import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Secret } from '@forgejo-fleet/runtime/config';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type InstanceSpec, ProviderError } from '../provider.js';
import { createShellProvider, type ShellProviderDeps, type ShellProviderOptions } from './index.js';
import { API_VERSION, MAX_STDOUT_BYTES } from './protocol.js';

const FIXTURES = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const TOKEN = 'e1f3d26e034687a2b6856c4c6c3d87a469ff3bea';

const SPEC: InstanceSpec = {
  name: 'ff-0cey3jwj6a4zk',
  idempotencyKey: 'dsp_01JABCDEF',
  userData: `#cloud-config\nwrite_files:\n- path: /run/forgejo-fleet/runner-token\n  permissions: '0600'\n  content: ${TOKEN}\n`,
  tags: { 'forgejo-fleet-fleet': 'prod-eu', 'forgejo-fleet-dispatch': 'dsp_01JABCDEF' },
};

const INSTANCE = {
  id: 'vm-1',
  name: SPEC.name,
  state: 'pending',
  tags: SPEC.tags,
  createdAt: 1_700_000_000_000,
  machine: 'small',
};

function json(value: unknown): string {
  return JSON.stringify(value);
}

function shell(
  script: string,
  env: Record<string, string> = {},
  options: Partial<ShellProviderOptions> = {},
  deps: ShellProviderDeps = {},
) {
  return createShellProvider(
    'local',
    { command: [join(FIXTURES, script)], timeout: 10_000, env, secret_files: [], ...options },
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...deps },
  );
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

let dump: string;
beforeEach(async () => {
  dump = await mkdtemp(join(tmpdir(), 'shell-provider-'));
});
afterEach(async () => {
  await rm(dump, { recursive: true, force: true });
});

describe('requests', () => {
  it.each([
    ['create', (p: ReturnType<typeof shell>) => p.create(SPEC), { spec: SPEC }],
    ['get', (p: ReturnType<typeof shell>) => p.get('vm-1'), { id: 'vm-1' }],
    ['delete', (p: ReturnType<typeof shell>) => p.delete('vm-1'), { id: 'vm-1' }],
    ['list', (p: ReturnType<typeof shell>) => p.list({ a: 'b' }), { tags: { a: 'b' } }],
  ] as const)('%s: verb appended to the command, one JSON object on stdin', async (verb, call, body) => {
    const stdout =
      verb === 'list'
        ? { apiVersion: API_VERSION, instances: [] }
        : { apiVersion: API_VERSION, instance: INSTANCE };
    const provider = createShellProvider(
      'local',
      {
        command: ['/bin/sh', join(FIXTURES, 'scripted.sh'), '--region', 'eu'],
        timeout: 10_000,
        env: { DUMP_DIR: dump, FIXTURE_STDOUT: json(stdout) },
        secret_files: [],
      },
      { env: { PATH: process.env.PATH ?? '' } },
    );

    await call(provider);

    expect((await readFile(join(dump, 'argv'), 'utf8')).split('\n')).toEqual(['--region', 'eu', verb, '']);
    expect(JSON.parse(await readFile(join(dump, 'stdin'), 'utf8'))).toEqual({
      apiVersion: API_VERSION,
      ...body,
    });
  });

  it('passes only PATH, HOME, LANG, TMPDIR of the dispatcher, plus env, secrets and FORGEJO_FLEET_*', async () => {
    const provider = shell(
      'scripted.sh',
      { DUMP_DIR: dump, REGION: 'eu-central-1' },
      { secret_files: [{ name: 'API_TOKEN', value: new Secret('s3cr3t-api-token', 'test') }] },
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: '/var/lib/forgejo-fleet',
          LANG: 'C.UTF-8',
          TMPDIR: '/tmp',
          FORGEJO_TOKEN: 'dispatcher-pat',
          AWS_SECRET_ACCESS_KEY: 'dispatcher-aws-key',
          CREDENTIALS_DIRECTORY: '/run/credentials/forgejo-fleet',
        },
      },
    );

    await provider.delete('vm-1');

    const env = Object.fromEntries(
      (await readFile(join(dump, 'env'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      HOME: '/var/lib/forgejo-fleet',
      LANG: 'C.UTF-8',
      TMPDIR: '/tmp',
      REGION: 'eu-central-1',
      API_TOKEN: 's3cr3t-api-token',
      FORGEJO_FLEET_PROVIDER: 'local',
      FORGEJO_FLEET_VERB: 'delete',
      FORGEJO_FLEET_API_VERSION: API_VERSION,
    });
    expect(env).not.toHaveProperty('FORGEJO_TOKEN');
    expect(env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
    expect(env).not.toHaveProperty('CREDENTIALS_DIRECTORY');
  });
});

describe('answers', () => {
  it('create: the instance from stdout, normalised (RFC 3339 createdAt → epoch ms)', async () => {
    const createdAt = '2024-05-01T12:00:00Z';
    const provider = shell('scripted.sh', {
      FIXTURE_STDOUT: json({ apiVersion: API_VERSION, instance: { ...INSTANCE, createdAt, extra: 1 } }),
    });

    expect(await provider.create(SPEC)).toEqual({ ...INSTANCE, createdAt: Date.parse(createdAt) });
  });

  it('create without optional fields leaves them out', async () => {
    const { createdAt: _c, machine: _m, ...bare } = INSTANCE;
    const provider = shell('scripted.sh', {
      FIXTURE_STDOUT: json({ apiVersion: API_VERSION, instance: bare }),
    });

    const instance = await provider.create(SPEC);

    expect(instance).toEqual(bare);
    expect(Object.keys(instance)).not.toContain('createdAt');
  });

  it('exit 4 with the instance on stdout: create returns the existing instance', async () => {
    const provider = shell('scripted.sh', {
      FIXTURE_EXIT: '4',
      FIXTURE_STDOUT: json({ apiVersion: API_VERSION, instance: { ...INSTANCE, state: 'running' } }),
    });

    expect(await provider.create(SPEC)).toMatchObject({ id: 'vm-1', state: 'running' });
  });

  it('exit 4 without stdout: create finds the instance with list by the spec tags and name', async () => {
    const other = { ...INSTANCE, id: 'vm-0', name: 'ff-other' };
    const provider = shell('scripted.sh', {
      DUMP_DIR: dump,
      FIXTURE_EXIT: '4',
      FIXTURE_LIST_STDOUT: json({ apiVersion: API_VERSION, instances: [other, INSTANCE] }),
    });

    expect((await provider.create(SPEC)).id).toBe('vm-1');
    expect(JSON.parse(await readFile(join(dump, 'stdin'), 'utf8'))).toEqual({
      apiVersion: API_VERSION,
      tags: SPEC.tags,
    });
  });

  it('exit 4 that list cannot confirm is transient', async () => {
    const provider = shell('scripted.sh', {
      FIXTURE_EXIT: '4',
      FIXTURE_LIST_STDOUT: json({ apiVersion: API_VERSION, instances: [] }),
    });

    const error = await failure(provider.create(SPEC));

    expect(error.class).toBe('transient');
    expect(error.message).toContain('found 0 instances');
  });

  it('get: exit 3 is undefined; delete: exit 3 is not-found, exit 0 is deleted with or without stdout', async () => {
    expect(await shell('scripted.sh', { FIXTURE_EXIT: '3' }).get('vm-1')).toBeUndefined();
    expect(await shell('scripted.sh', { FIXTURE_EXIT: '3' }).delete('vm-1')).toBe('not-found');
    expect(await shell('scripted.sh').delete('vm-1')).toBe('deleted');
    expect(
      await shell('scripted.sh', { FIXTURE_STDOUT: json({ apiVersion: API_VERSION }) }).delete('vm-1'),
    ).toBe('deleted');
  });

  it('get: the instance from stdout', async () => {
    const provider = shell('scripted.sh', {
      FIXTURE_STDOUT: json({ apiVersion: API_VERSION, instance: INSTANCE }),
    });

    expect(await provider.get('vm-1')).toEqual(INSTANCE);
  });

  it("list: every instance, without those missing a requested tag (a script that doesn't filter)", async () => {
    const foreign = { ...INSTANCE, id: 'vm-9', tags: { 'forgejo-fleet-fleet': 'staging' } };
    const provider = shell('scripted.sh', {
      FIXTURE_STDOUT: json({ apiVersion: API_VERSION, instances: [INSTANCE, foreign] }),
    });

    expect(await provider.list({ 'forgejo-fleet-fleet': 'prod-eu' })).toEqual([INSTANCE]);
  });
});

describe('exit codes', () => {
  it.each([
    [10, 'capacity', false],
    [11, 'quota', false],
    [12, 'rate-limited', true],
    [13, 'transient', true],
    [1, 'fatal', false],
    [2, 'fatal', false],
    [5, 'fatal', false],
    [127, 'fatal', false],
  ] as const)('exit %i → %s', async (code, errorClass, retryable) => {
    const provider = shell('scripted.sh', { FIXTURE_EXIT: String(code), FIXTURE_STDERR: 'cloud says no' });

    const error = await failure(provider.create(SPEC));

    expect(error).toMatchObject({ class: errorClass, retryable, provider: 'local' });
    expect(error.message).toBe(`local: shell create: exit ${code} (${errorClass}); stderr: cloud says no`);
  });

  it('exit 12: retryAfterMs and message from stdout', async () => {
    const provider = shell('scripted.sh', {
      FIXTURE_EXIT: '12',
      FIXTURE_STDOUT: json({ apiVersion: API_VERSION, message: 'API rate limit', retryAfterMs: 30_000 }),
    });

    const error = await failure(provider.list({}));

    expect(error).toMatchObject({ class: 'rate-limited', retryAfterMs: 30_000 });
    expect(error.message).toBe('local: shell list: exit 12 (rate-limited): API rate limit');
  });

  it.each([
    ['create', 3, 'not-found, unexpected here'],
    ['list', 3, 'not-found, unexpected here'],
    ['get', 4, 'already-exists, unexpected here'],
  ] as const)('%s: exit %i is fatal (%s)', async (verb, code, label) => {
    const provider = shell('scripted.sh', { FIXTURE_EXIT: String(code) });
    const call =
      verb === 'create' ? provider.create(SPEC) : verb === 'list' ? provider.list({}) : provider.get('x');

    const error = await failure(call);

    expect(error.class).toBe('fatal');
    expect(error.message).toContain(`exit ${code} (${label})`);
  });

  it('death by a signal is fatal', async () => {
    const error = await failure(shell('scripted.sh', { FIXTURE_SIGNAL: 'KILL' }).get('x'));

    expect(error).toMatchObject({ class: 'fatal' });
    expect(error.message).toContain('killed by SIGKILL');
  });

  it('a command that cannot be started is fatal', async () => {
    const provider = createShellProvider('local', {
      command: ['/nonexistent/provider'],
      timeout: 1000,
      env: {},
      secret_files: [],
    });

    const error = await failure(provider.get('x'));

    expect(error).toMatchObject({ class: 'fatal' });
    expect(error.message).toBe('local: shell get: cannot run "/nonexistent/provider": ENOENT');
  });
});

describe('bad stdout is fatal and names the field', () => {
  const ok = { apiVersion: API_VERSION, instance: INSTANCE };
  it.each([
    ['create', 'not JSON', 'stdout is not one JSON object'],
    ['create', json([ok]), 'stdout is not one JSON object'],
    ['create', '', 'stdout is empty; expected one JSON object'],
    ['create', json({ instance: INSTANCE }), `stdout apiVersion: expected "${API_VERSION}"`],
    [
      'create',
      json({ ...ok, apiVersion: 'forgejo-fleet.shell/v2' }),
      `stdout apiVersion: expected "${API_VERSION}"`,
    ],
    ['create', json({ ...ok, instance: { ...INSTANCE, state: 'booting' } }), 'stdout instance.state: '],
    ['create', json({ ...ok, instance: { ...INSTANCE, id: 7 } }), 'stdout instance.id: '],
    ['create', json({ apiVersion: API_VERSION }), 'stdout instance: '],
    [
      'get',
      json({ ...ok, instance: { ...INSTANCE, createdAt: 'yesterday' } }),
      'stdout instance.createdAt: ',
    ],
    [
      'list',
      json({ apiVersion: API_VERSION, instances: [{ ...INSTANCE, tags: { a: 1 } }] }),
      'stdout instances[0].tags.a: ',
    ],
    ['delete', json({ apiVersion: 'v0' }), `stdout apiVersion: expected "${API_VERSION}"`],
  ] as const)('%s: %s', async (verb, stdout, message) => {
    const provider = shell('scripted.sh', { FIXTURE_STDOUT: stdout });
    const call =
      verb === 'create'
        ? provider.create(SPEC)
        : verb === 'get'
          ? provider.get('vm-1')
          : verb === 'list'
            ? provider.list({})
            : provider.delete('vm-1');

    const error = await failure(call);

    expect(error.class).toBe('fatal');
    expect(error.message).toContain(`local: shell ${verb}: ${message}`);
  });

  it('names the allowed states', async () => {
    const provider = shell('scripted.sh', {
      FIXTURE_STDOUT: json({ ...ok, instance: { ...INSTANCE, state: 'booting' } }),
    });

    const error = await failure(provider.create(SPEC));

    expect(error.message).toMatch(/stdout instance\.state: .*expected one of .*"pending".*"running"/);
  });

  it('stdout over 1 MiB kills the command and is fatal', async () => {
    const error = await failure(shell('oversize.sh').list({}));

    expect(error).toMatchObject({ class: 'fatal' });
    expect(error.message).toBe(`local: shell list: stdout exceeds ${MAX_STDOUT_BYTES} bytes; killed`);
  });
});

describe('secrets', () => {
  it('the error carries the end of stderr, never stdin', async () => {
    const provider = shell('scripted.sh', {
      FIXTURE_EXIT: '1',
      FIXTURE_STDERR: `${'x'.repeat(10_000)}\nthe last line`,
    });

    const error = await failure(provider.create(SPEC));

    expect(error.message).toContain('the last line');
    expect(error.message.length).toBeLessThan(4_300);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('cloud-config');
  });

  it('token-like words of the user-data and secret values are blanked from stderr of a script that leaks them', async () => {
    const provider = shell(
      'scripted.sh',
      { FIXTURE_ECHO_STDIN: '1', FIXTURE_STDERR: 'auth with s3cr3t-api-token failed', FIXTURE_EXIT: '13' },
      { secret_files: [{ name: 'API_TOKEN', value: new Secret('s3cr3t-api-token', 'test') }] },
    );

    const error = await failure(provider.create(SPEC));

    expect(error.class).toBe('transient');
    expect(error.message).toContain('auth with [redacted] failed');
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('s3cr3t-api-token');
  });
});

describe('timeout and abort', () => {
  it('a command over its timeout is killed with its children and the error is transient', async () => {
    const provider = shell('hang.sh', {}, { timeout: 300 });

    const error = await failure(provider.get('vm-1'));

    // Resolving at all proves the child holding stdout died: the sleep would hold it for 120 s.
    expect(error).toMatchObject({ class: 'transient', retryable: true });
    expect(error.message).toMatch(/^local: shell get: deadline of 0.3 s exceeded; killed/);
  });

  it("call_timeouts overrides timeout for its verb; the command is killed at that verb's deadline", async () => {
    const provider = shell(
      'hang.sh',
      {},
      {
        timeout: 60_000,
        call_timeouts: { create: 60_000, get: 60_000, list: 250, delete: 60_000 },
      },
    );

    const error = await failure(provider.list({}));

    expect(error).toMatchObject({ class: 'transient' });
    expect(error.message).toMatch(/^local: shell list: deadline of 0.25 s exceeded; killed/);
  });

  it('SIGKILL follows SIGTERM after the grace period', async () => {
    const provider = shell('hang.sh', { FIXTURE_IGNORE_TERM: '1' }, { timeout: 200 }, { killGraceMs: 200 });

    const error = await failure(provider.list({}));

    expect(error.class).toBe('transient');
  });

  it('abort kills the command and rejects with an AbortError', async () => {
    const provider = shell('hang.sh');
    const controller = new AbortController();

    const call = provider.create(SPEC, { signal: controller.signal });
    controller.abort();

    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('an aborted signal runs nothing', async () => {
    const provider = shell('scripted.sh', { DUMP_DIR: dump });
    const reason = new DOMException('shutting down', 'AbortError');

    await expect(provider.delete('vm-1', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(readFile(join(dump, 'argv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
