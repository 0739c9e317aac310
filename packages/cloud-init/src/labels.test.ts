import { describe, expect, it } from 'vitest';
import { parseLabel, RunnerLabels } from './labels.js';

describe('parseLabel', () => {
  it.each([
    ['debian:docker://node:22-bookworm', { name: 'debian', scheme: 'docker', arg: '//node:22-bookworm' }],
    ['vm-small:host', { name: 'vm-small', scheme: 'host' }],
    ['ubuntu-22.04:lxc', { name: 'ubuntu-22.04', scheme: 'lxc' }],
    [
      'gpu:docker://ghcr.io/acme/ci@sha256:abc123',
      { name: 'gpu', scheme: 'docker', arg: '//ghcr.io/acme/ci@sha256:abc123' },
    ],
  ])('accepts %s', (label, expected) => {
    expect(parseLabel(label)).toEqual(expected);
  });

  it.each([
    ['debian', /no scheme; a bare label means docker.*"debian:host"/],
    ['debian:kvm', /scheme "kvm"; use one of docker, host, lxc/],
    ['debian:host://x', /host scheme takes no argument/],
    ['debian:docker:node', /must look like \/\/IMAGE/],
    ['debian:docker://node;reboot', /must look like \/\/IMAGE/],
    ['deb ian:host', /label name "deb ian"/],
    [':host', /label name ""/],
    ['$(id):host', /label name/],
  ])('rejects %s', (label, message) => {
    const parsed = parseLabel(label);

    expect(parsed).toHaveProperty('error');
    expect('error' in parsed ? parsed.error : '').toMatch(message);
  });
});

describe('RunnerLabels', () => {
  it.each([
    [[], /at least one label/],
    [['a:host', 'a:docker://node'], /label name "a" appears twice/],
  ])('rejects %j', (labels, message) => {
    const result = RunnerLabels.safeParse(labels);

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join('\n')).toMatch(message);
  });
});
