import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CURL,
  type FakeAnswer,
  installWarmUserData,
  jobAnswer,
  makeSandbox,
  PYTHON3,
  RUNNER_STUB,
  runScript,
  type Sandbox,
  type SandboxOptions,
  startFakeDispatcher,
} from './__fixtures__/agent-sandbox.js';
import { assignment, SECRET, TOKEN, warmHost } from './__fixtures__/inputs.js';
import type { WarmBootstrap } from './bootstrap.js';
import { renderWarmUserData } from './render.js';

// The whole VM side: the rendered warm bootstrap (with dash, /bin/sh on Debian and Ubuntu)
// prepares the sandboxed "VM", starts the rendered agent, which polls a fake dispatcher on
// 127.0.0.1, runs the stub runner and powers off.

const canRun = CURL !== undefined && PYTHON3 !== undefined;
const stubSha = createHash('sha256').update(RUNNER_STUB).digest('hex');
const sandboxes: Sandbox[] = [];

afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.remove()));
});

async function bootWarmVm(
  answers: FakeAnswer[],
  input: (dispatcher: string) => WarmBootstrap,
  download: string = RUNNER_STUB,
  options: SandboxOptions = {},
) {
  const server = await startFakeDispatcher(answers, download);
  const sandbox = await makeSandbox(options);
  sandboxes.push(sandbox);
  try {
    const bootstrap = await installWarmUserData(sandbox, renderWarmUserData(input(server.url)));
    const run = await runScript(sandbox, '/bin/sh', bootstrap, {});
    return { ...run, sandbox, polls: server.polls };
  } finally {
    await server.close();
  }
}

function downloading(dispatcher: string, sha256 = stubSha, hostUser?: string): WarmBootstrap {
  return warmHost({
    agentUrl: `${dispatcher}/`,
    install: { mode: 'download', url: `${dispatcher}/forgejo-runner`, sha256 },
    maxIdleSeconds: 1800,
    ...(hostUser === undefined ? {} : { hostUser }),
  });
}

describe.skipIf(!canRun)('warm VM, end to end', () => {
  it('downloads the runner, waits for its job, runs it once and powers off', async () => {
    const run = await bootWarmVm([{ status: 204 }, jobAnswer(assignment())], (url) => downloading(url));

    expect(run.code).toBe(0);
    const runner = join(run.sandbox.root, 'opt', 'forgejo-runner');
    expect((await stat(runner)).mode & 0o777).toBe(0o755);
    expect(run.polls).toHaveLength(2);
    expect(run.polls.map((p) => p.headers.authorization)).toEqual([`Bearer ${SECRET}`, `Bearer ${SECRET}`]);
    expect(await run.sandbox.calls('forgejo-runner')).toMatch(
      /^-c \S+\/run\/runner.yaml one-job --url https:\/\/git\.example\.com .* --label linux:host --label small:host --handle 33ba7d51-\S+ --wait\n$/,
    );
    expect(await run.sandbox.calls('token-mode')).toBe('600\n');
    expect(await run.sandbox.calls('token-seen')).toBe(TOKEN);
    // The idle deadline first (30 min + 20 min), then the job's (6 h + 20 min).
    expect(await run.sandbox.calls('shutdown')).toBe('-P +50\n-c\n-P +380\n');
    // The agent's poweroff, then the bootstrap's own when the agent has exited.
    const order = (await run.sandbox.order()).filter((name) => !['curl', 'timeout', 'sync'].includes(name));
    expect(order).toEqual(['shutdown', 'shutdown', 'shutdown', 'forgejo-runner', 'poweroff', 'poweroff']);
    expect(run.output).toContain('VM ready; starting the agent');
    expect(run.output).toContain('bootstrap exit status 0; powering off');
    expect(run.output).not.toContain(TOKEN);
    expect(run.output).not.toContain(SECRET);
    expect(await run.sandbox.calls('curl')).not.toContain(SECRET);
    expect(await readdir(run.sandbox.run)).toEqual(['runner.yaml']);
  });

  it('never starts the agent when the runner download fails its sha256 check', async () => {
    const run = await bootWarmVm([jobAnswer(assignment())], (url) => downloading(url, 'a'.repeat(64)));

    expect(run.code).toBe(1);
    expect(run.output).toContain('sha256 mismatch');
    expect(run.polls).toEqual([]);
    expect(await run.sandbox.calls('forgejo-runner')).toBe('');
    expect((await run.sandbox.order()).at(-1)).toBe('poweroff');
  });

  describe('with a host user', () => {
    const newRules = 'case "$*" in *" -C "*) exit 1 ;; esac';
    const firewall: SandboxOptions = {
      stubs: ['getent', 'useradd', 'id', 'iptables', 'ip6tables'],
      stubBodies: { iptables: newRules, ip6tables: newRules },
    };

    it('fences the user off the metadata service before the agent starts; the job runs as it', async () => {
      const run = await bootWarmVm(
        [jobAnswer(assignment())],
        (url) => downloading(url, stubSha, 'ci'),
        RUNNER_STUB,
        firewall,
      );

      expect(run.code).toBe(0);
      expect(await run.sandbox.calls('useradd')).toBe('--create-home --user-group --shell /bin/sh ci\n');
      expect(await run.sandbox.calls('iptables')).toContain(
        '-w -I OUTPUT 1 -m owner --uid-owner 1001 -d 169.254.169.254 -j REJECT',
      );
      expect(await run.sandbox.calls('ip6tables')).toContain(
        '-w -I OUTPUT 1 -m owner --uid-owner 1001 -d fd00:ec2::254 -j REJECT',
      );
      const home = join(run.sandbox.root, 'home', 'ci');
      expect(await run.sandbox.calls('setpriv')).toMatch(
        new RegExp(`^--reuid=ci --regid=1001 --init-groups --no-new-privs -- env HOME=${home} USER=ci `),
      );
      expect(await run.sandbox.calls('token-mode')).toBe('600\n');
      expect(await run.sandbox.calls('chown')).toMatch(/^ci \S+\/run\/runner-token \S+\/run\/runner.yaml\n$/);
      // The rules go in before the agent's one poll (the first curl is the runner's download),
      // long before the runner.
      const order = (await run.sandbox.order()).filter(
        (name) => !['timeout', 'sync', 'shutdown'].includes(name),
      );
      const poll = order.lastIndexOf('curl');
      expect(order.slice(poll)).toEqual([
        'curl',
        'chown',
        'setpriv',
        'forgejo-runner',
        'poweroff',
        'poweroff',
      ]);
      expect(order.lastIndexOf('iptables')).toBeLessThan(poll);
      expect(order.lastIndexOf('ip6tables')).toBeLessThan(poll);
    });

    it('never starts the agent when a rule cannot be installed', async () => {
      const run = await bootWarmVm(
        [jobAnswer(assignment())],
        (url) => downloading(url, stubSha, 'ci'),
        RUNNER_STUB,
        {
          ...firewall,
          stubBodies: { iptables: newRules, ip6tables: 'case "$*" in *OUTPUT*) exit 1 ;; esac' },
        },
      );

      expect(run.code).toBe(1);
      expect(run.output).toContain('could not keep ci from the metadata service');
      expect(run.polls).toEqual([]);
      expect(await run.sandbox.calls('forgejo-runner')).toBe('');
      expect((await run.sandbox.order()).at(-1)).toBe('poweroff');
    });
  });

  it('powers off when the dispatcher refuses the VM', async () => {
    const run = await bootWarmVm([{ status: 410 }], (url) => downloading(url));

    expect(run.code).toBe(3);
    expect(run.polls).toHaveLength(1);
    expect(await run.sandbox.calls('forgejo-runner')).toBe('');
    expect(run.output).toContain('refused this VM (HTTP 410)');
    expect(await readdir(run.sandbox.run)).toEqual([]);
  });
});
