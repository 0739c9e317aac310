import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { passwdLine } from './__fixtures__/host-user-stubs.js';
import { bakedDocker, TOKEN } from './__fixtures__/inputs.js';
import { exists, HOST_USER_STUBS, runBootstrap, type SandboxOptions } from './__fixtures__/sandbox.js';
import type { RunnerBootstrap } from './bootstrap.js';
import { renderUserData } from './render.js';

// The cold bootstrap with runner.host_user, run with dash against stubs: a fake user database
// (getent, useradd, id), iptables/ip6tables/nft that record their rules, and a setpriv that
// records how it would drop root and then runs the runner stub.

function hostUser(overrides: Partial<RunnerBootstrap> = {}): string {
  return renderUserData(bakedDocker({ labels: ['vm:host', 'linux:host'], hostUser: 'ci', ...overrides }));
}

/** The rule is not there yet (-C fails); inserting it works. */
const NEW_RULES = 'case "$*" in *" -C "*) exit 1 ;; esac';
const FIREWALL = { stubs: [...HOST_USER_STUBS, 'iptables', 'ip6tables'] };
const INSERTS = { ...FIREWALL, stubBodies: { iptables: NEW_RULES, ip6tables: NEW_RULES } };

type Run = Awaited<ReturnType<typeof runBootstrap>>;

async function order(run: Run): Promise<string[]> {
  return (await run.calls('order')).split('\n').filter(Boolean);
}

async function expectRefused(run: Run, message: string) {
  expect(run.code).toBe(1);
  expect(run.output).toContain(message);
  expect(await run.calls('setpriv')).toBe('');
  expect(await run.calls('forgejo-runner')).toBe('');
  expect((await order(run)).at(-1)).toBe('poweroff');
  expect(await exists(run.tokenPath)).toBe(false);
  expect(run.output).not.toContain(TOKEN);
}

describe('bootstrap with a host user', () => {
  it('creates the user, fences it off the metadata service, then runs the runner as it', async () => {
    const run = await runBootstrap(hostUser(), INSERTS);

    expect(run.code).toBe(0);
    expect(await run.calls('useradd')).toBe('--create-home --user-group --shell /bin/sh ci\n');
    const v4 = await run.calls('iptables');
    const v6 = await run.calls('ip6tables');
    expect(v4).toContain('-w -I OUTPUT 1 -m owner --uid-owner 1001 -d 169.254.169.254 -j REJECT\n');
    expect(v6).toContain('-w -I OUTPUT 1 -m owner --uid-owner 1001 -d fd00:ec2::254 -j REJECT\n');
    // The token and the runner config become the user's, 0600 as cloud-init wrote them.
    expect(await run.calls('chown')).toBe(`ci ${run.tokenPath} ${join(run.root, 'run', 'runner.yaml')}\n`);
    expect(await run.calls('token-mode')).toBe('600\n');
    expect(await run.calls('token-seen')).toBe(TOKEN);
    expect((await stat(join(run.root, 'run'))).mode & 0o777).toBe(0o711);
    // The runner's command line runs under the user, with no way back to root.
    const home = join(run.root, 'home', 'ci');
    expect(await run.calls('setpriv')).toMatch(
      new RegExp(
        `^--reuid=ci --regid=1001 --init-groups --no-new-privs -- env HOME=${home} USER=ci LOGNAME=ci ${run.runnerPath} -c \\S+/runner.yaml one-job .*--label vm:host --label linux:host --handle \\S+ --wait\\n$`,
      ),
    );
    expect(await run.calls('runner-env')).toMatch(new RegExp(`^HOME=${home}$`, 'm'));
    // Every rule is in before anything runs as the user.
    const calls = await order(run);
    const firstAsUser = calls.indexOf('setpriv');
    expect(calls.lastIndexOf('iptables')).toBeLessThan(firstAsUser);
    expect(calls.lastIndexOf('ip6tables')).toBeLessThan(firstAsUser);
    expect(calls.slice(calls.indexOf('chown'))).toEqual(['chown', 'setpriv', 'forgejo-runner', 'poweroff']);
    expect(run.output).toContain('metadata service blocked for ci');
    expect(await exists(run.tokenPath)).toBe(false);
  });

  it('leaves a rule that is already there alone', async () => {
    const run = await runBootstrap(hostUser(), FIREWALL);

    expect(run.code).toBe(0);
    expect(await run.calls('iptables')).toContain(
      '-w -C OUTPUT -m owner --uid-owner 1001 -d 169.254.169.254',
    );
    expect(await run.calls('iptables')).not.toContain('-I OUTPUT');
    expect(await run.calls('forgejo-runner')).not.toBe('');
  });

  it('uses an existing user as it is, with its own uid, gid and home', async () => {
    const run = await runBootstrap(hostUser(), {
      ...INSERTS,
      files: (root) => ({ passwd: passwdLine(root, 'ci', 1500, 1600) }),
    });

    expect(run.code).toBe(0);
    expect(await run.calls('useradd')).toBe('');
    expect(await run.calls('iptables')).toContain('--uid-owner 1500 -d 169.254.169.254 -j REJECT');
    // Its missing home is made, 0700 and its own.
    expect(await run.calls('chown')).toMatch(new RegExp(`^1500:1600 ${join(run.root, 'home', 'ci')}\\n`));
    expect(await run.calls('setpriv')).toMatch(/^--reuid=ci --regid=1600 /);
  });

  it('falls back to nft like the container block, with both addresses for the uid', async () => {
    const run = await runBootstrap(hostUser(), {
      stubs: [...HOST_USER_STUBS, 'nft'],
      stubBodies: { nft: 'cat >> "$SANDBOX/calls/nft-input"' },
    });

    expect(run.code).toBe(0);
    const rules = await run.calls('nft-input');
    expect(rules).toContain('chain output { type filter hook output priority 0;');
    expect(rules).toContain('meta skuid 1001 ip daddr 169.254.169.254 reject;');
    expect(rules).toContain('meta skuid 1001 ip6 daddr fd00:ec2::254 reject;');
    expect(await run.calls('forgejo-runner')).not.toBe('');
  });

  it.each([
    [
      'the IPv4 rule fails',
      { ...FIREWALL, stubBodies: { iptables: 'case "$*" in *OUTPUT*) exit 1 ;; esac' } },
      'could not keep ci from the metadata service',
    ],
    [
      'the IPv6 rule fails',
      { ...FIREWALL, stubBodies: { ip6tables: 'case "$*" in *OUTPUT*) exit 1 ;; esac' } },
      'could not keep ci from the metadata service',
    ],
    [
      'ip6tables is missing',
      { stubs: [...HOST_USER_STUBS, 'iptables'], stubBodies: { iptables: NEW_RULES } },
      'could not keep ci from the metadata service',
    ],
    [
      'nft fails',
      { stubs: [...HOST_USER_STUBS, 'nft'], stubBodies: { nft: "grep -q 'chain output' && exit 1" } },
      'could not keep ci from the metadata service',
    ],
    ['no firewall tool exists', { stubs: HOST_USER_STUBS }, 'neither iptables nor nft is installed'],
    [
      'the user cannot be created',
      { ...INSERTS, env: { STUB_USERADD_EXIT: '9' } },
      'could not create the host user ci',
    ],
    [
      'setpriv is missing',
      { ...INSERTS, stubs: INSERTS.stubs.filter((name) => name !== 'setpriv') },
      'setpriv (util-linux) is missing',
    ],
    [
      'the user is in the sudo group',
      { ...INSERTS, env: { STUB_ID_GROUPS: 'ci sudo' } },
      'the host user ci is in group sudo',
    ],
    [
      'the user is in the docker group',
      { ...INSERTS, env: { STUB_ID_GROUPS: 'ci docker' } },
      'the host user ci is in group docker',
    ],
    [
      'the user is named in sudoers',
      { ...INSERTS, files: () => ({ 'etc/sudoers.d/90-ci': 'ci ALL=(ALL) NOPASSWD:ALL\n' }) },
      'the host user ci is named in sudoers',
    ],
    [
      'the user has uid 0',
      { ...INSERTS, files: (root: string) => ({ passwd: passwdLine(root, 'ci', 0, 1500) }) },
      'the host user ci has uid:gid 0:1500',
    ],
    [
      "the user's group is root's",
      { ...INSERTS, files: (root: string) => ({ passwd: passwdLine(root, 'ci', 1500, 0) }) },
      'the host user ci has uid:gid 1500:0',
    ],
  ] satisfies Array<[string, SandboxOptions, string]>)(
    'never starts the runner and powers off when %s',
    async (_case, options, message) => {
      const run = await runBootstrap(hostUser(), options);

      await expectRefused(run, message);
    },
  );

  it('ignores sudoers comments that happen to hold the name', async () => {
    const run = await runBootstrap(hostUser(), {
      ...INSERTS,
      files: () => ({ 'etc/sudoers': '# ci runs here\n@includedir /etc/sudoers.d\n%sudo ALL=(ALL) ALL\n' }),
    });

    expect(run.code).toBe(0);
    expect(await run.calls('forgejo-runner')).not.toBe('');
  });

  it('adds no rule when the route allows the metadata service, and still drops root', async () => {
    const userData = hostUser({ blockMetadataForContainers: false, blockMetadataForHostUser: false });

    const run = await runBootstrap(userData, INSERTS);

    expect(run.code).toBe(0);
    expect(await run.calls('iptables')).toBe('');
    expect(await run.calls('ip6tables')).toBe('');
    expect(run.output).toContain('warning: metadata service reachable for ci');
    expect(await run.calls('setpriv')).toMatch(/^--reuid=ci --regid=1001 --init-groups --no-new-privs /);
  });

  it('leaves container mode as it was: root runner, forwarded traffic blocked, no owner rule', async () => {
    const run = await runBootstrap(renderUserData(bakedDocker()), {
      stubs: ['docker', 'iptables', 'ip6tables', ...HOST_USER_STUBS],
      stubBodies: { iptables: NEW_RULES, ip6tables: NEW_RULES },
    });

    expect(run.code).toBe(0);
    expect(await run.calls('iptables')).toContain('-w -I DOCKER-USER 1 -d 169.254.169.254 -j DROP');
    expect(await run.calls('iptables')).not.toContain('OUTPUT');
    for (const name of HOST_USER_STUBS) expect([name, await run.calls(name)]).toEqual([name, '']);
    expect(await run.calls('forgejo-runner')).toMatch(/^-c \S+ one-job /);
  });

  it('writes nothing world-readable but the motd', () => {
    const doc = parse(hostUser(), { version: '1.1' }) as {
      write_files: Array<{ path: string; permissions: string }>;
    };

    const readable = doc.write_files.filter((file) => (Number.parseInt(file.permissions, 8) & 0o004) !== 0);

    expect(readable.map((file) => file.path)).toEqual(['/etc/motd']);
  });
});
