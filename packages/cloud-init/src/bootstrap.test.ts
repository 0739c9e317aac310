import { describe, expect, it } from 'vitest';
import { bakedDocker, downloadHost } from './__fixtures__/inputs.js';
import { RunnerBootstrap } from './bootstrap.js';

function issuePaths(input: unknown): string[] {
  const result = RunnerBootstrap.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

describe('RunnerBootstrap', () => {
  it('accepts both fixtures and defaults blockMetadataForContainers to true', () => {
    expect(RunnerBootstrap.parse(bakedDocker()).blockMetadataForContainers).toBe(true);
    expect(RunnerBootstrap.parse(downloadHost()).blockMetadataForContainers).toBe(true);
  });

  it('lower-cases the sha256', () => {
    const input = downloadHost({
      install: { mode: 'download', url: 'https://dl.example/r', sha256: 'AB'.repeat(32) },
    });

    expect(RunnerBootstrap.parse(input).install).toMatchObject({ sha256: 'ab'.repeat(32) });
  });

  const injections = [
    "x'; reboot; '",
    '$(reboot)',
    '`reboot`',
    'a\nreboot',
    'a b',
    'a|b',
    'a&b',
    'a;b',
    'a>b',
    '"a"',
    '\\',
  ];

  it.each(injections)('rejects %j in a label', (evil) => {
    expect(issuePaths(bakedDocker({ labels: [`ok:host`, `x${evil}:host`] }))).toEqual(['labels.1']);
    expect(issuePaths(bakedDocker({ labels: [`ok:docker://node${evil}`] }))).toEqual(['labels.0']);
  });

  it.each(injections)('rejects %j in the handle, ids and runner name', (evil) => {
    expect(issuePaths(bakedDocker({ handle: `h${evil}` }))).toEqual(['handle']);
    expect(issuePaths(bakedDocker({ dispatchId: `d${evil}`, fleetId: `f${evil}` }))).toEqual([
      'dispatchId',
      'fleetId',
    ]);
    const base = bakedDocker();
    expect(issuePaths({ ...base, runner: { ...base.runner, name: `n${evil}` } })).toEqual(['runner.name']);
  });

  it.each(injections)('rejects %j in the URLs and the binary path', (evil) => {
    expect(issuePaths(bakedDocker({ instanceUrl: `https://forgejo.example/${evil}` }))).toEqual([
      'instanceUrl',
    ]);
    // A download URL may carry a query (mirrors, signed URLs), so `&` is allowed there; it
    // stays inside single quotes (see script.test.ts).
    if (evil !== 'a&b') {
      const url = `https://dl.example/${evil}`;
      expect(
        issuePaths(downloadHost({ install: { mode: 'download', url, sha256: 'a'.repeat(64) } })),
      ).toEqual(['install.url']);
    }
    expect(issuePaths(bakedDocker({ install: { mode: 'baked', binaryPath: `/opt/${evil}` } }))).toEqual([
      'install.binaryPath',
    ]);
  });

  it.each([
    ['an ftp URL', { instanceUrl: 'ftp://forgejo.example/' }, 'instanceUrl'],
    ['user info in the URL', { instanceUrl: 'https://admin:pat@forgejo.example/' }, 'instanceUrl'],
    ['a query on the instance URL', { instanceUrl: 'https://forgejo.example/?x=1' }, 'instanceUrl'],
    ['a relative URL', { instanceUrl: '/forgejo' }, 'instanceUrl'],
    ['an empty handle', { handle: '' }, 'handle'],
    ['a bare label', { labels: ['debian'] }, 'labels.0'],
    ['a 30 s timeout', { jobTimeoutSeconds: 30 }, 'jobTimeoutSeconds'],
    ['a fractional timeout', { jobTimeoutSeconds: 90.5 }, 'jobTimeoutSeconds'],
    [
      'a relative binary path',
      { install: { mode: 'baked', binaryPath: 'forgejo-runner' } },
      'install.binaryPath',
    ],
    [
      '.. in the binary path',
      { install: { mode: 'baked', binaryPath: '/opt/../bin/sh' } },
      'install.binaryPath',
    ],
    [
      'a short sha256',
      { install: { mode: 'download', url: 'https://dl.example/r', sha256: 'abc' } },
      'install.sha256',
    ],
  ] as const)('rejects %s', (_case, overrides, path) => {
    expect(issuePaths({ ...bakedDocker(), ...overrides })).toEqual([path]);
  });

  it.each([
    ['root', 'root'],
    ['upper case', 'CI'],
    ['a space', 'ci user'],
    ['a leading digit', '1ci'],
    ['shell syntax', 'ci$(reboot)'],
    ['33 characters', `c${'i'.repeat(32)}`],
  ])('rejects %s as the host user', (_case, hostUser) => {
    expect(issuePaths(downloadHost({ hostUser }))).toEqual(['hostUser']);
  });

  it.each(['ci', '_ci', 'forgejo-runner', `c${'i'.repeat(31)}`])('accepts host user %j', (hostUser) => {
    expect(issuePaths(downloadHost({ hostUser }))).toEqual([]);
  });

  it('refuses a host user with any label that is not host mode', () => {
    const labels = ['vm:host', 'node:docker://node:22', 'box:lxc'];
    const result = RunnerBootstrap.safeParse(downloadHost({ hostUser: 'ci', labels }));

    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['hostUser'],
        message: expect.stringContaining('not node:docker://node:22, box:lxc'),
      }),
    ]);
  });

  it.each([
    ['not a uuid', 'runner.uuid'],
    ['', 'runner.uuid'],
  ])('rejects uuid %j', (uuid, path) => {
    const base = bakedDocker();
    expect(issuePaths({ ...base, runner: { ...base.runner, uuid } })).toEqual([path]);
  });

  it.each(['short', 'tok en with spaces 123', 'token\nwith-newline-0123', "token'quote-0123456"])(
    'rejects token %j without echoing it',
    (token) => {
      const base = bakedDocker();
      const result = RunnerBootstrap.safeParse({ ...base, runner: { ...base.runner, token } });

      expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['runner.token']);
      expect(JSON.stringify(result.error?.issues.map((i) => i.message))).not.toContain(token);
    },
  );
});
