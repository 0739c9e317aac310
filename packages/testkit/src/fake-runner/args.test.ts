import { describe, expect, it } from 'vitest';
import { parseOneJobArgs } from './args.js';
import { parseGoDuration } from './duration.js';
import { parseRunnerLabel } from './labels.js';

const UUID = 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d';
const BASE = ['one-job', '--url', 'http://127.0.0.1:3000/', '--uuid', UUID, '--token-url', 'file:///tmp/t'];

describe('parseOneJobArgs', () => {
  it('parses the user-data invocation', () => {
    const args = parseOneJobArgs([
      ...BASE,
      '--label',
      'debian:docker://node:lts',
      '--label=gpu:host',
      '--handle',
      'h-1',
      '--wait',
      '--fetch-interval',
      '500ms',
    ]);
    expect(args).toMatchObject({
      url: 'http://127.0.0.1:3000/',
      uuid: UUID,
      tokenUrl: 'file:///tmp/t',
      labelNames: ['debian', 'gpu'],
      handle: 'h-1',
      wait: true,
      fetchIntervalMs: 500,
      config: null,
    });
  });

  it('defaults: no wait, 2 s interval, FetchTask; -c is accepted before or after the command', () => {
    expect(parseOneJobArgs(['-c', 'cfg.yaml', ...BASE])).toMatchObject({
      wait: false,
      fetchIntervalMs: 2000,
      handle: null,
      config: 'cfg.yaml',
    });
    expect(parseOneJobArgs([...BASE, '-w', '--config=x.yaml'])).toMatchObject({
      wait: true,
      config: 'x.yaml',
    });
  });

  it('codeberg.org forces a fetch interval of at least 30 s', () => {
    const args = parseOneJobArgs([
      'one-job',
      '--url',
      'https://codeberg.org',
      '--uuid',
      UUID,
      '--token-url',
      'file:/t',
    ]);
    expect(args.fetchIntervalMs).toBe(30_000);
  });

  it.each([
    [['daemon', ...BASE.slice(1)], /only one-job/],
    [[...BASE, '--token', 'abc'], /unknown flag: --token/],
    [['one-job'], /single connection/],
    [['one-job', '--label', 'x:host'], /single connection/],
    [['one-job', '--label', 'a', '--label', 'b'], /are all required/],
    [['one-job', '--url', 'http://127.0.0.1'], /are all required/],
    [['one-job', '--uuid', UUID, '--token-url', 'file:///t'], /are all required/],
    [['one-job', '--fetch-interval', '1s'], /are all required/],
    [['one-job', '--url', 'ftp://127.0.0.1', '--uuid', UUID, '--token-url', 'file:///t'], /http or https/],
    [['one-job', '--url', '127.0.0.1:3000', '--uuid', UUID, '--token-url', 'file:///t'], /invalid --url/],
    [
      ['one-job', '--url', 'http://127.0.0.1', '--uuid', 'not-a-uuid', '--token-url', 'file:///t'],
      /invalid --uuid/,
    ],
    [[...BASE, '--fetch-interval', '2'], /invalid --fetch-interval/],
    [[...BASE, '--label', 'x:podman'], /unsupported schema/],
    [[...BASE, '--label', 'x:host:arg'], /does not have arguments/],
    [[...BASE, '--label', ' x'], /space/],
    [[...BASE, '--handle'], /needs an argument/],
  ])('%j -> %s', (argv, message) => {
    expect(() => parseOneJobArgs(argv)).toThrow(message);
  });

  it('accepts the uuid forms google/uuid accepts', () => {
    for (const uuid of [UUID.toUpperCase(), `{${UUID}}`, `urn:uuid:${UUID}`, UUID.replaceAll('-', '')]) {
      expect(
        parseOneJobArgs(['one-job', '--url', 'http://h', '--uuid', uuid, '--token-url', 'file:/t']).uuid,
      ).toBe(uuid);
    }
  });
});

describe('labels and durations', () => {
  it.each([
    ['debian', { name: 'debian', scheme: 'docker', arg: '' }],
    ['debian:docker://node:lts', { name: 'debian', scheme: 'docker', arg: '//node:lts' }],
    ['vm:host', { name: 'vm', scheme: 'host', arg: '' }],
    ['c:lxc://debian:bookworm', { name: 'c', scheme: 'lxc', arg: '//debian:bookworm' }],
  ])('label %s', (input, expected) => {
    expect(parseRunnerLabel(input)).toEqual(expected);
  });

  it.each([
    ['2s', 2000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['2', null],
    ['s', null],
  ])('duration %s', (input, ms) => {
    expect(parseGoDuration(input)).toBe(ms);
  });
});
