import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KILL_AFTER_SECONDS } from '../paths.js';
import { runnerConfigYaml } from '../render.js';
import {
  CURL,
  type FakeAnswer,
  jobAnswer,
  makeSandbox,
  PYTHON3,
  runScript,
  type Sandbox,
  SHELLS,
  shellcheck,
  startFakeDispatcher,
  writeFilesOf,
} from './__fixtures__/agent-sandbox.js';
import { assignment, SECRET, TOKEN, VM_ID, warmHost } from './__fixtures__/inputs.js';
import { AGENT_SCRIPT } from './agent-script.js';
import { AGENT_AUTH_PATH, AGENT_PATH } from './paths.js';
import { renderWarmUserData, SHIPPED_AGENT_SCRIPT } from './render.js';

// These run the agent exactly as the VM gets it (from a rendering) with bash and dash against a
// fake dispatcher on 127.0.0.1. Stubs record what ran; `sleep` returns at once and records how
// long it was asked to wait, so retries and backoff are checked without waiting.

const canRun = CURL !== undefined && PYTHON3 !== undefined && SHELLS.length > 0;
const files = writeFilesOf(renderWarmUserData(warmHost()));
const shippedAgent = files.get(AGENT_PATH)?.content ?? '';
const authFile = files.get(AGENT_AUTH_PATH)?.content ?? '';
const sandboxes: Sandbox[] = [];
const shellcheckAvailable = (await shellcheck('#!/bin/sh\ntrue\n')).code !== 'missing';

afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.remove()));
});

type AgentOptions = {
  shell?: string;
  env?: Record<string, string>;
  /** Tools left off PATH. */
  without?: string[];
  /** Leave the secret file out, as if write_files had failed. */
  noAuth?: boolean;
};

async function runAgent(answers: FakeAnswer[], options: AgentOptions = {}) {
  const server = await startFakeDispatcher(answers);
  const sandbox = await makeSandbox(options.without === undefined ? {} : { without: options.without });
  sandboxes.push(sandbox);
  const agent = join(sandbox.root, 'sbin', 'forgejo-fleet-agent');
  await writeFile(agent, shippedAgent, { mode: 0o700 });
  const auth = join(sandbox.run, 'agent-auth');
  if (options.noAuth !== true) await writeFile(auth, authFile, { mode: 0o600 });
  const paths = {
    auth,
    token: join(sandbox.run, 'runner-token'),
    config: join(sandbox.run, 'runner.yaml'),
    runner: join(sandbox.bin, 'forgejo-runner'),
  };
  try {
    const result = await runScript(sandbox, options.shell ?? 'bash', agent, {
      FLEET_AGENT_URL: server.url,
      FLEET_VM_ID: VM_ID,
      FLEET_AGENT_AUTH_FILE: paths.auth,
      FLEET_AGENT_WORK_DIR: sandbox.run,
      FLEET_RUNNER_BIN: paths.runner,
      FLEET_TOKEN_FILE: paths.token,
      FLEET_RUNNER_CONFIG: paths.config,
      FLEET_AGENT_POLL_TIMEOUT: '10',
      FLEET_AGENT_BACKOFF_MAX: '30',
      FLEET_HOST_USER: '',
      FLEET_HOST_GID: '',
      FLEET_HOST_HOME: '',
      // @SANDBOX@ stands for the sandbox, which does not exist before this call.
      ...Object.fromEntries(
        Object.entries(options.env ?? {}).map(([name, value]) => [
          name,
          value.replaceAll('@SANDBOX@', sandbox.root),
        ]),
      ),
    });
    return { ...result, sandbox, paths, polls: server.polls };
  } finally {
    await server.close();
  }
}

type AgentRun = Awaited<ReturnType<typeof runAgent>>;

async function sleeps(run: AgentRun): Promise<number[]> {
  return (await run.sandbox.calls('sleep')).split('\n').filter(Boolean).map(Number);
}

/** Whatever happened: powered off last, no secret or token left behind or printed. */
async function expectPoweredOffClean(run: AgentRun) {
  expect((await run.sandbox.order()).at(-1)).toBe('poweroff');
  expect(await readdir(run.sandbox.run)).not.toContain('runner-token');
  expect(await readdir(run.sandbox.run)).not.toContain('agent-auth');
  expect(run.output).not.toContain(TOKEN);
  expect(run.output).not.toContain(SECRET);
  expect(await run.sandbox.calls('curl')).not.toContain(SECRET);
}

/** Backoff waits: between half the nominal delay (1, 2, 4 … up to max) and the delay. */
function expectBackoff(waits: number[], max: number) {
  let delay = Math.min(1, max);
  for (const wait of waits) {
    expect(wait).toBeGreaterThanOrEqual(delay - Math.floor(delay / 2));
    expect(wait).toBeLessThanOrEqual(delay);
    delay = Math.min(delay * 2, max);
  }
}

describe('agent script', () => {
  it('is agent.sh byte for byte (UPDATE_AGENT_SCRIPT=1 rewrites agent-script.ts)', async () => {
    const source = await readFile(new URL('./agent.sh', import.meta.url), 'utf8');
    if (process.env.UPDATE_AGENT_SCRIPT === '1' && source !== AGENT_SCRIPT) {
      const header = (await readFile(new URL('./agent-script.ts', import.meta.url), 'utf8')).split(
        'export const AGENT_SCRIPT',
      )[0];
      await writeFile(
        new URL('./agent-script.ts', import.meta.url),
        `${header}export const AGENT_SCRIPT = String.raw\`${source}\`;\n`,
      );
      return;
    }
    // A template literal would interpolate these (and tsc would not notice every case).
    expect(source).not.toMatch(/\$\{|`/);
    expect(AGENT_SCRIPT).toBe(source);
  });

  it('ships the agent without comments, every code line kept', () => {
    const code = AGENT_SCRIPT.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));

    expect(shippedAgent).toBe(SHIPPED_AGENT_SCRIPT);
    expect(shippedAgent).toBe(`#!/bin/sh\n${code.join('\n')}\n`);
  });

  it('passes the secret to curl only through the -K file and never prints the token', () => {
    const lines = AGENT_SCRIPT.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    const authLines = lines.filter((l) => l.includes('$AUTH_FILE')).map((l) => l.trim());
    const tokenLines = lines.filter((l) => /\$token\b/.test(l)).map((l) => l.trim());

    // Checked, handed to curl as a config file, deleted: never read into the shell or argv.
    expect(authLines).toEqual([
      'rm -f "$TOKEN_FILE" "$AUTH_FILE" "$RESPONSE" "$HEADERS" "$FIELDS"',
      '[ -r "$AUTH_FILE" ] || die "the agent secret file $AUTH_FILE is missing"',
      "-K \"$AUTH_FILE\" -H 'Content-Type: application/json' -H 'Accept: application/json' \\",
      'rm -f "$AUTH_FILE"',
    ]);
    // -q first: no ~/.curlrc can add options (or -v, which would print the header).
    expect(AGENT_SCRIPT).toMatch(/^ {2}curl -q -sS -X POST /m);
    // The token goes to its file through printf, a builtin (no argv), and nowhere else.
    expect(tokenLines).toEqual([
      'is_token "$token" || invalid "runner.token"',
      'printf \'%s\' "$token" >"$TOKEN_FILE"',
    ]);
    expect(AGENT_SCRIPT).not.toMatch(/set -[a-z]*x|export /);
  });

  it.skipIf(!shellcheckAvailable)('is shellcheck-clean, as written and as shipped', async () => {
    for (const text of [AGENT_SCRIPT, shippedAgent]) {
      expect(await shellcheck(text)).toEqual({ code: 0, output: '' });
    }
  });
});

describe.skipIf(!canRun).each(SHELLS)('agent run with %s', (shell) => {
  it('polls until assigned, runs one-job as the cold path does, then powers off', async () => {
    const run = await runAgent(
      [
        { status: 204 },
        { status: 204 },
        { status: 429, headers: { 'Retry-After': '0' } },
        jobAnswer(assignment()),
      ],
      { shell },
    );

    expect(run.code).toBe(0);
    expect(run.polls).toHaveLength(4);
    for (const poll of run.polls) {
      expect(poll).toMatchObject({ method: 'POST', url: '/v1/agent/poll' });
      expect(poll.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(poll.headers['content-type']).toBe('application/json');
      expect(JSON.parse(poll.body)).toEqual({ vm_id: VM_ID });
    }
    // 204 polls again at once; only the 429 waited, as long as Retry-After said.
    expect(await sleeps(run)).toEqual([0]);

    const args = [
      `-c ${run.paths.config} one-job --url https://git.example.com`,
      `--uuid d4637a60-7fea-4075-a81c-7e4ae01bdf0d --token-url file://${run.paths.token}`,
      '--label linux:host --label small:host --handle 33ba7d51-59c6-44f8-9d2b-1b94f4033973 --wait',
    ].join(' ');
    expect(await run.sandbox.calls('forgejo-runner')).toBe(`${args}\n`);
    expect(await run.sandbox.calls('timeout')).toBe(
      `--signal=TERM --kill-after=${KILL_AFTER_SECONDS}s 21600 ${run.paths.runner} ${args}\n`,
    );
    expect(await run.sandbox.calls('token-mode')).toBe('600\n');
    expect(await run.sandbox.calls('token-seen')).toBe(TOKEN);
    expect(await run.sandbox.calls('runner-env')).not.toContain(TOKEN);
    expect(await run.sandbox.calls('runner-env')).not.toContain(SECRET);
    expect(await readFile(run.paths.config, 'utf8')).toBe(runnerConfigYaml(21600));
    // The job's deadline (timeout + 20 min) replaces the idle one.
    expect(await run.sandbox.calls('shutdown')).toBe('-c\n-P +380\n');
    expect(run.output).toContain('forgejo-runner exited 0');

    const order = await run.sandbox.order();
    expect(order.filter((name) => name !== 'curl')).toEqual([
      'sleep',
      'shutdown',
      'shutdown',
      'timeout',
      'forgejo-runner',
      'sync',
      'poweroff',
    ]);
    const curl = (await run.sandbox.calls('curl')).split('\n').filter(Boolean);
    expect(curl).toHaveLength(4);
    for (const argv of curl) expect(argv).toMatch(new RegExp(`^-q .* -K ${run.paths.auth} `));
    await expectPoweredOffClean(run);
  });

  it.each([401, 403, 404, 410])(
    'powers off at once on HTTP %i, without running the runner',
    async (status) => {
      const run = await runAgent([{ status }], { shell });

      expect(run.code).toBe(3);
      expect(run.polls).toHaveLength(1);
      expect(run.output).toContain(`the dispatcher refused this VM (HTTP ${status})`);
      expect(await run.sandbox.calls('forgejo-runner')).toBe('');
      expect(await sleeps(run)).toEqual([]);
      await expectPoweredOffClean(run);
    },
  );

  it('retries network errors and 5xx with backoff, then runs the job', async () => {
    const run = await runAgent(
      ['reset', 'reset', { status: 500 }, { status: 502 }, 'reset', jobAnswer(assignment())],
      { shell },
    );

    expect(run.code).toBe(0);
    expect(run.polls).toHaveLength(6);
    const waits = await sleeps(run);
    expect(waits).toHaveLength(5);
    expectBackoff(waits, 30);
    expect(run.output).toContain('poll failed without an HTTP answer');
    expect(run.output).toContain('unexpected HTTP 502');
    expect(await run.sandbox.calls('forgejo-runner')).toContain('--handle 33ba7d51');
    await expectPoweredOffClean(run);
  });
});

describe.skipIf(!canRun)('agent retries', () => {
  it('caps the backoff at FLEET_AGENT_BACKOFF_MAX and starts over after an answer', async () => {
    const resets: FakeAnswer[] = ['reset', 'reset', 'reset', 'reset', 'reset', 'reset', 'reset'];
    const run = await runAgent([...resets, { status: 204 }, 'reset', jobAnswer(assignment())], {
      env: { FLEET_AGENT_BACKOFF_MAX: '8' },
    });

    const waits = await sleeps(run);
    expect(waits).toHaveLength(8);
    expectBackoff(waits.slice(0, 7), 8);
    expect(waits.slice(4, 7).every((wait) => wait >= 4 && wait <= 8)).toBe(true);
    expect(waits[7]).toBe(1);
    expect(run.code).toBe(0);
  });

  it('does not wait at all with FLEET_AGENT_BACKOFF_MAX=0 (tests)', async () => {
    const run = await runAgent(['reset', 'reset', 'reset', jobAnswer(assignment())], {
      env: { FLEET_AGENT_BACKOFF_MAX: '0' },
    });

    expect(await sleeps(run)).toEqual([0, 0, 0]);
    expect(run.code).toBe(0);
  });

  it('waits what Retry-After says on 429: 5 s without it or for a date, at most 60 s', async () => {
    const run = await runAgent([
      { status: 429 },
      { status: 429, headers: { 'Retry-After': '7' } },
      { status: 429, headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' } },
      { status: 429, headers: { 'Retry-After': '3600' } },
      { status: 429, headers: { 'Retry-After': '99999999999999999999' } },
      jobAnswer(assignment()),
    ]);

    expect(await sleeps(run)).toEqual([5, 7, 5, 60, 60]);
    expect(run.code).toBe(0);
  });

  it('propagates the runner exit code and still powers off', async () => {
    const run = await runAgent([jobAnswer(assignment())], { env: { STUB_FORGEJO_RUNNER_EXIT: '7' } });

    expect(run.code).toBe(7);
    expect(run.output).toContain('forgejo-runner exited 7');
    await expectPoweredOffClean(run);
  });
});

describe.skipIf(!canRun)('agent with a host user', () => {
  it('runs the job as the host user: its token and config, setpriv with no_new_privs, its home', async () => {
    const run = await runAgent([jobAnswer(assignment())], {
      env: { FLEET_HOST_USER: 'ci', FLEET_HOST_GID: '1001', FLEET_HOST_HOME: '@SANDBOX@/opt' },
    });

    expect(run.code).toBe(0);
    expect(await run.sandbox.calls('chown')).toBe(`ci ${run.paths.token} ${run.paths.config}\n`);
    const runner = `${run.paths.runner} -c ${run.paths.config} one-job`;
    expect(await run.sandbox.calls('setpriv')).toMatch(
      new RegExp(
        `^--reuid=ci --regid=1001 --init-groups --no-new-privs -- env HOME=${run.sandbox.root}/opt USER=ci LOGNAME=ci ${runner} .* --wait\n$`,
      ),
    );
    expect(await run.sandbox.calls('timeout')).toMatch(
      /^--signal=TERM --kill-after=30s 21600 setpriv --reuid=ci /,
    );
    const env = await run.sandbox.calls('runner-env');
    expect(env).toMatch(/^USER=ci$/m);
    expect(env).toMatch(/^LOGNAME=ci$/m);
    // The files are the user's before anything runs as it.
    const order = (await run.sandbox.order()).filter((name) => !['curl', 'shutdown'].includes(name));
    expect(order).toEqual(['chown', 'timeout', 'setpriv', 'forgejo-runner', 'sync', 'poweroff']);
    await expectPoweredOffClean(run);
  });
});

describe.skipIf(!canRun)('agent refusals', () => {
  const base = assignment();
  const runner = base.runner as Record<string, unknown>;
  it.each([
    ['not JSON', '{"instance_url": '],
    ['two JSON objects', `${JSON.stringify(base)}${JSON.stringify(base)}`],
    ['a JSON array', JSON.stringify([base])],
    ['no handle', JSON.stringify({ ...base, handle: undefined })],
    ['a handle with shell syntax', JSON.stringify({ ...base, handle: '$(reboot)' })],
    ['a token with a space', JSON.stringify({ ...base, runner: { ...runner, token: `${TOKEN} x` } })],
    ['a token with a newline', JSON.stringify({ ...base, runner: { ...runner, token: `${TOKEN}\nx` } })],
    ['a short token', JSON.stringify({ ...base, runner: { ...runner, token: 'abc' } })],
    ['a bad uuid', JSON.stringify({ ...base, runner: { ...runner, uuid: 'not-a-uuid' } })],
    [
      'a query on the instance URL',
      JSON.stringify({ ...base, instance_url: 'https://git.example.com/?x=1' }),
    ],
    ['an ftp instance URL', JSON.stringify({ ...base, instance_url: 'ftp://git.example.com' })],
    ['a label that is a flag', JSON.stringify({ ...base, labels: ['--token-url=file:///etc/shadow'] })],
    ['a label with a space', JSON.stringify({ ...base, labels: ['linux:host --wait'] })],
    ['no labels', JSON.stringify({ ...base, labels: [] })],
    ['a 30 s timeout', JSON.stringify({ ...base, job_timeout_seconds: 30 })],
    ['a fractional timeout', JSON.stringify({ ...base, job_timeout_seconds: 90.5 })],
    ['a timeout as a string', JSON.stringify({ ...base, job_timeout_seconds: '21600' })],
    ['a timeout of true', JSON.stringify({ ...base, job_timeout_seconds: true })],
  ])('powers off without running the runner on an assignment with %s', async (_case, body) => {
    const run = await runAgent([{ status: 200, body }]);

    expect(run.code).toBe(1);
    expect(run.output).toContain('invalid assignment');
    expect(await run.sandbox.calls('forgejo-runner')).toBe('');
    // Nothing left: no answer, no parsed fields, no token, no secret.
    expect(await readdir(run.sandbox.run)).toEqual([]);
    await expectPoweredOffClean(run);
  });

  it.each([
    ['the secret file is missing', { noAuth: true }, 'the agent secret file'],
    ['python3 is missing', { without: ['python3'] }, 'python3 is not installed'],
    ['curl is missing', { without: ['curl'] }, 'curl is not installed'],
    ['the poll timeout is not a number', { env: { FLEET_AGENT_POLL_TIMEOUT: '40s' } }, 'must be a number'],
    [
      'the VM id would break the JSON body',
      { env: { FLEET_VM_ID: 'w"}{"vm_id":"x' } },
      'FLEET_VM_ID must be',
    ],
    ['the VM id is not base32', { env: { FLEET_VM_ID: 'wABCDEFGH0189' } }, 'FLEET_VM_ID must be'],
    [
      'the host user has no gid (it must not fall back to root)',
      { env: { FLEET_HOST_USER: 'ci', FLEET_HOST_GID: '', FLEET_HOST_HOME: '/home/ci' } },
      'FLEET_HOST_GID must be',
    ],
    [
      "the host user's gid is root's",
      { env: { FLEET_HOST_USER: 'ci', FLEET_HOST_GID: '0', FLEET_HOST_HOME: '/home/ci' } },
      'FLEET_HOST_GID must be',
    ],
    [
      'the host user has no home',
      { env: { FLEET_HOST_USER: 'ci', FLEET_HOST_GID: '1001', FLEET_HOST_HOME: 'home' } },
      'FLEET_HOST_HOME must be',
    ],
    [
      'the agent URL has a query',
      { env: { FLEET_AGENT_URL: 'http://127.0.0.1:9/?a=b' } },
      'FLEET_AGENT_URL must be',
    ],
  ] satisfies Array<[string, AgentOptions, string]>)(
    'never polls when %s',
    async (_case, options, message) => {
      const run = await runAgent([jobAnswer(assignment())], options);

      expect(run.code).toBe(1);
      expect(run.output).toContain(message);
      expect(run.polls).toEqual([]);
      await expectPoweredOffClean(run);
    },
  );

  it('needs every setting: a missing one stops it before anything runs', async () => {
    const sandbox = await makeSandbox();
    sandboxes.push(sandbox);
    const agent = join(sandbox.root, 'agent');
    await writeFile(agent, shippedAgent, { mode: 0o700 });
    const bare = await runScript(sandbox, 'bash', agent, {});
    expect(bare.code).not.toBe(0);
    expect(bare.output).toMatch(/FLEET_AGENT_URL/);
    expect(await sandbox.order()).toEqual([]);
  });
});
