import { describe, expect, it } from 'vitest';
import { bakedDocker, downloadHost } from './__fixtures__/inputs.js';
import { RunnerBootstrap } from './bootstrap.js';
import { InvalidRunnerBootstrapError } from './errors.js';
import { parseBootstrap, parseDispatch, routeShapeKey } from './render-shape.js';

const key = (input: unknown) => routeShapeKey(input as RunnerBootstrap);

function thrown(run: () => unknown): InvalidRunnerBootstrapError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRunnerBootstrapError);
    return error as InvalidRunnerBootstrapError;
  }
  throw new Error('did not throw');
}

describe('routeShapeKey', () => {
  it('is the same for two dispatches of a route, built apart', () => {
    const other = bakedDocker({
      runner: { uuid: '0b9d3c1e-55aa-4e8f-9a63-2c4f1d7e8b90', token: 'f'.repeat(40), name: 'ff-2' },
      handle: 'another-handle',
      dispatchId: 'dsp_other',
    });
    expect(key(other)).toBe(key(bakedDocker()));
    expect(key(structuredClone(downloadHost()))).toBe(key(downloadHost()));
  });

  it.each([
    ['another label', bakedDocker({ labels: ['debian:host'] })],
    ['the labels in another order', bakedDocker({ labels: [...bakedDocker().labels].reverse() })],
    ['another timeout', bakedDocker({ jobTimeoutSeconds: 3601 })],
    ['the timeout as a string', bakedDocker({ jobTimeoutSeconds: '3600' as unknown as number })],
    ['no docker', bakedDocker({ docker: undefined })],
    ['a docker install of null', bakedDocker({ docker: { install: null as unknown as boolean } })],
    ['a host user', bakedDocker({ hostUser: 'ci' })],
    ['the metadata block spelled out', bakedDocker({ blockMetadataForContainers: true })],
    ['no handle', bakedDocker({ handle: undefined })],
    ['no dispatch id', bakedDocker({ dispatchId: undefined })],
  ])('changes with %s', (_name, input) => {
    expect(key(input)).not.toBe(key(bakedDocker()));
  });

  it('tells a missing key from one holding undefined, as the schema does', () => {
    const { fleetId: _fleetId, ...withoutFleet } = bakedDocker();
    expect(key(withoutFleet)).not.toBe(key(bakedDocker({ fleetId: undefined })));
  });

  it('reads what the schema reads: inherited and hidden properties too', () => {
    const hidden = bakedDocker();
    Object.defineProperty(hidden, 'hostUser', { value: 'ci', enumerable: false });
    expect(key(hidden)).toBe(key(bakedDocker({ hostUser: 'ci' })));
    const install = { mode: 'baked' };
    Object.defineProperty(install, 'binaryPath', { value: '/opt/runner', enumerable: false });
    expect(key(bakedDocker({ install: install as never }))).not.toBe(key(bakedDocker()));
  });

  it('ignores what the schema strips', () => {
    expect(key({ ...bakedDocker(), extra: () => 0 })).toBe(key(bakedDocker()));
  });

  const cyclic: Record<string, unknown> = { mode: 'baked' };
  cyclic.self = cyclic;
  it.each([
    ['null', null],
    ['a string', 'input'],
    ['an array', [bakedDocker()]],
    ['a class instance', new (class Input {})()],
    ['a function', bakedDocker({ hostUser: (() => 'ci') as unknown as string })],
    ['a symbol', bakedDocker({ fleetId: Symbol('f') as unknown as string })],
    ['a bigint', bakedDocker({ jobTimeoutSeconds: 3600n as unknown as number })],
    ['NaN', bakedDocker({ jobTimeoutSeconds: Number.NaN })],
    ['-0', bakedDocker({ jobTimeoutSeconds: -0 })],
    ['a Date', bakedDocker({ docker: new Date() as never })],
    ['an object with toJSON', bakedDocker({ instanceUrl: { toJSON: () => 'https://x/' } as never })],
    ['a symbol key', bakedDocker({ docker: { install: false, [Symbol('s')]: 1 } as never })],
    ['a cycle', bakedDocker({ install: cyclic as never })],
    ['deep nesting', bakedDocker({ labels: [[['x:host']]] as never })],
  ])('gives none for input holding %s', (_name, input) => {
    expect(key(input)).toBeUndefined();
  });
});

describe('parseDispatch', () => {
  it('gives the per-dispatch fields', () => {
    const input = bakedDocker();
    expect(parseDispatch(input)).toEqual({
      runner: input.runner,
      handle: input.handle,
      dispatchId: input.dispatchId,
    });
  });

  it('throws the error the full parse throws when only per-dispatch fields are wrong', () => {
    const input = bakedDocker({
      runner: { uuid: 'nope', token: 'short', name: '' },
      handle: 'a b',
      dispatchId: '$(x)',
    });
    const full = thrown(() => parseBootstrap(input));
    const perDispatch = thrown(() => parseDispatch(input));
    expect(full.issues.map((issue) => issue.path)).toEqual([
      'runner.uuid',
      'runner.token',
      'runner.name',
      'handle',
      'dispatchId',
    ]);
    expect(perDispatch.message).toBe(full.message);
    expect(perDispatch.issues).toEqual(full.issues);
  });

  it('leaves the shape fields to the full parse', () => {
    const input = bakedDocker({ labels: ['debian'] });
    expect(RunnerBootstrap.safeParse(input).success).toBe(false);
    expect(() => parseDispatch(input)).not.toThrow();
  });
});
