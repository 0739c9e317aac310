import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bakedDocker, downloadHost, twentyLabels } from './__fixtures__/inputs.js';
import { RunnerBootstrap, type ValidRunnerBootstrap } from './bootstrap.js';
import { InvalidRunnerBootstrapError } from './errors.js';
import { renderFull, renderUserData } from './render.js';
import { templateRenderer } from './render-template.js';

/** Per-dispatch values as the schema allows them, biased toward tokens YAML 1.1 reads as numbers. */
const word = (max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${max - 1}}$`));
const dispatchValues = fc.record({
  runner: fc.record({
    uuid: fc.uuid({ version: 4 }),
    token: fc.oneof(
      fc.stringMatching(/^[0-9a-f]{40}$/),
      fc.stringMatching(/^[0-9]{16,40}$/),
      fc.stringMatching(/^[0-9]{3,5}_[0-9]{12,20}$/),
      fc.stringMatching(/^[0-9]{1,3}\.[0-9]{14,20}$/),
      fc.stringMatching(/^0x[0-9a-f]{14,30}$/),
      fc.stringMatching(/^[A-Za-z0-9._~+/=-]{16,120}$/),
    ),
    name: word(40),
  }),
  handle: word(60),
  dispatchId: word(30),
});

const shapes: Array<[string, ValidRunnerBootstrap]> = [
  ['baked + handle + docker labels', RunnerBootstrap.parse(bakedDocker())],
  ['download + host labels, no handle, no dispatch id', RunnerBootstrap.parse(downloadHost())],
  ['twenty docker labels', RunnerBootstrap.parse(twentyLabels())],
  ['host user', RunnerBootstrap.parse(bakedDocker({ labels: ['vm:host'], hostUser: 'ci' }))],
];

describe('templateRenderer', () => {
  it.each(shapes)('gives the bytes of a full render for 300 random dispatches (%s)', (_name, shape) => {
    let fullRenders = 0;
    const render = templateRenderer((input) => {
      fullRenders++;
      return renderFull(input);
    });
    fc.assert(
      fc.property(dispatchValues, (values) => {
        const input: ValidRunnerBootstrap = {
          ...shape,
          runner: values.runner,
          ...(shape.handle === undefined ? {} : { handle: values.handle }),
          ...(shape.dispatchId === undefined ? {} : { dispatchId: values.dispatchId }),
        };
        expect(RunnerBootstrap.safeParse(input).success).toBe(true);
        expect(render(input)).toBe(renderFull(input));
      }),
      { numRuns: 300, seed: 7 },
    );
    // The template was made once (two renders with stand-ins) and used for every dispatch.
    expect(fullRenders).toBe(2);
  });

  it('keeps one template per route shape', () => {
    let fullRenders = 0;
    const render = templateRenderer((input) => {
      fullRenders++;
      return renderFull(input);
    });
    for (const [, shape] of shapes) render(shape);
    for (const [, shape] of shapes) render(shape);
    expect(fullRenders).toBe(2 * shapes.length);
  });

  it('renders fully when the document does not hold the values where the template expects them', () => {
    // A renderer that derives text from the token (as a future change might) cannot be templated.
    let fullRenders = 0;
    const full = (input: ValidRunnerBootstrap) => {
      fullRenders++;
      return `${renderFull(input)}# token length ${input.runner.token.length}\n`;
    };
    const render = templateRenderer(full);
    const input = RunnerBootstrap.parse(bakedDocker());
    expect(render(input)).toBe(full(input));
    const before = fullRenders;
    render({ ...input, runner: { ...input.runner, token: `${input.runner.token}ab` } });
    expect(fullRenders).toBe(before + 1);
  });

  it('renders fully when a renderer changes a stand-in (the two stand-in renders disagree)', () => {
    let fullRenders = 0;
    const render = templateRenderer((input) => {
      fullRenders++;
      return renderFull(input).replace(input.runner.name, input.runner.name.toUpperCase());
    });
    const input = RunnerBootstrap.parse(bakedDocker());
    render(input);
    render(input);
    // Two stand-in renders, then a full render for each call.
    expect(fullRenders).toBe(4);
  });
});

/** What renderUserData did before the shape cache: the full parse, then a full render. */
function reference(input: unknown): string {
  const parsed = RunnerBootstrap.safeParse(input);
  if (!parsed.success) throw new InvalidRunnerBootstrapError(parsed.error);
  return renderFull(parsed.data);
}

type Outcome = { text: string } | { error: string; name: string; message: string; issues: unknown };

function outcome(render: () => string): Outcome {
  try {
    return { text: render() };
  } catch (error) {
    if (!(error instanceof InvalidRunnerBootstrapError)) throw error;
    return { error: error.constructor.name, name: error.name, message: error.message, issues: error.issues };
  }
}

/** The shape's input with other per-dispatch values; `undefined` here means leave the key out. */
function withDispatch(shape: object, values: { runner?: unknown; handle?: unknown; dispatchId?: unknown }) {
  const { runner: _r, handle: _h, dispatchId: _d, ...rest } = shape as Record<string, unknown>;
  return {
    ...rest,
    ...('runner' in values ? { runner: values.runner } : {}),
    ...(values.handle === undefined ? {} : { handle: values.handle }),
    ...(values.dispatchId === undefined ? {} : { dispatchId: values.dispatchId }),
  } as unknown as RunnerBootstrap;
}

const goodRunner = { uuid: 'd4637a60-7fea-4075-a81c-7e4ae01bdf0d', token: 'a'.repeat(40), name: 'ff-1' };
const badDispatches: Array<[string, { runner?: unknown; handle?: unknown; dispatchId?: unknown }]> = [
  ['a uuid that is none', { runner: { ...goodRunner, uuid: 'not-a-uuid' } }],
  ['an empty uuid', { runner: { ...goodRunner, uuid: '' } }],
  ['a number for a uuid', { runner: { ...goodRunner, uuid: 42 } }],
  ['a short token', { runner: { ...goodRunner, token: 'abc' } }],
  ['a token with a space', { runner: { ...goodRunner, token: `${'a'.repeat(40)} x` } }],
  ['a token with a quote', { runner: { ...goodRunner, token: `${'a'.repeat(40)}'` } }],
  ['a 513-character token', { runner: { ...goodRunner, token: 'a'.repeat(513) } }],
  ['no token', { runner: { uuid: goodRunner.uuid, name: goodRunner.name } }],
  ['an empty name', { runner: { ...goodRunner, name: '' } }],
  ['a name running a command', { runner: { ...goodRunner, name: '$(reboot)' } }],
  ['a 256-character name', { runner: { ...goodRunner, name: 'n'.repeat(256) } }],
  ['a runner that is a string', { runner: 'runner' }],
  ['a runner that is null', { runner: null }],
  ['no runner', {}],
  ['an empty handle', { runner: goodRunner, handle: '' }],
  ['a handle with a space', { runner: goodRunner, handle: 'a b' }],
  ['a handle that is null', { runner: goodRunner, handle: null }],
  ['a 129-character handle', { runner: goodRunner, handle: 'h'.repeat(129) }],
  ['an empty dispatch id', { runner: goodRunner, dispatchId: '' }],
  ['a dispatch id with a semicolon', { runner: goodRunner, dispatchId: 'd;reboot' }],
  ['a dispatch id that is a number', { runner: goodRunner, dispatchId: 7 }],
  ['every runner field wrong at once', { runner: { uuid: 'x', token: 'y', name: '' } }],
  [
    'every field wrong at once',
    { runner: { uuid: 'x', token: 'y', name: '' }, handle: '`reboot`', dispatchId: 'a|b' },
  ],
];

describe('templateRenderer: the full parse once per shape, the per-dispatch fields every time', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe.each(shapes)('%s', (_name, shape) => {
    // A handle or dispatch id where the shape has none makes another shape, which gets the full parse.
    const sameShape = badDispatches.filter(
      ([, values]) =>
        (values.handle === undefined || shape.handle !== undefined) &&
        (values.dispatchId === undefined || shape.dispatchId !== undefined),
    );
    it.each(sameShape)('fails on %s as the full parse does, without it', (_case, values) => {
      const render = templateRenderer(renderFull);
      render(shape);
      const input = withDispatch(shape, {
        handle: shape.handle,
        dispatchId: shape.dispatchId,
        ...values,
      });
      const expected = outcome(() => reference(input));
      expect(expected).toHaveProperty('error', 'InvalidRunnerBootstrapError');

      const fullParse = vi.spyOn(RunnerBootstrap, 'safeParse');
      expect(outcome(() => render(input))).toEqual(expected);
      expect(fullParse).not.toHaveBeenCalled();
    });
  });

  it('gives what the full parse and render give for 1,000 dispatches, good and bad, of known shapes', () => {
    const render = templateRenderer(renderFull);
    const bad = fc.oneof(
      fc.constantFrom('', 'a b', '$(reboot)', "x'y", 'é', 'a'.repeat(600), null, 0, true, {}, []),
      fc.string({ maxLength: 20 }),
    );
    const maybe = <T>(good: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: bad as fc.Arbitrary<unknown> });
    const values = fc.record(
      {
        runner: fc.oneof(
          {
            weight: 6,
            arbitrary: fc.record({
              uuid: maybe(fc.uuid()),
              token: maybe(fc.stringMatching(/^[0-9a-f]{40}$/)),
              name: maybe(word(40)),
            }),
          },
          { weight: 1, arbitrary: bad },
        ),
        handle: maybe(word(60)),
        dispatchId: maybe(word(30)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...shapes), values, ([, shape], dispatch) => {
        const input = withDispatch(shape, dispatch);
        expect(outcome(() => render(input))).toEqual(outcome(() => reference(input)));
      }),
      { numRuns: 1000, seed: 21 },
    );
  });

  it('never keeps a shape that failed the full parse', () => {
    let fullRenders = 0;
    const render = templateRenderer((input) => {
      fullRenders++;
      return renderFull(input);
    });
    const invalid = bakedDocker({ labels: ['debian'] });
    const expected = outcome(() => reference(invalid));
    expect(expected).toHaveProperty('issues', [expect.objectContaining({ path: 'labels[0]' })]);
    for (const token of ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)]) {
      const input = { ...invalid, runner: { ...invalid.runner, token } };
      const fullParse = vi.spyOn(RunnerBootstrap, 'safeParse');
      expect(outcome(() => render(input))).toEqual(outcome(() => reference(input)));
      expect(fullParse).toHaveBeenCalledTimes(2);
      fullParse.mockRestore();
    }
    expect(fullRenders).toBe(0);
  });

  it('fails or renders as the full parse does where an input differs from a known shape only where JSON cannot see it', () => {
    const render = templateRenderer(renderFull);
    const known = bakedDocker();
    render(known);
    const hiddenHostUser = bakedDocker();
    Object.defineProperty(hiddenHostUser, 'hostUser', { value: 'ci', enumerable: false });
    const inherited = Object.assign(Object.create({ hostUser: 'ci' }), bakedDocker());
    const cases: unknown[] = [
      hiddenHostUser,
      inherited,
      bakedDocker({ hostUser: (() => 'ci') as unknown as string }),
      bakedDocker({ fleetId: Symbol('prod-eu') as unknown as string }),
      bakedDocker({ instanceUrl: { toJSON: () => known.instanceUrl } as unknown as string }),
      bakedDocker({ jobTimeoutSeconds: Number.NaN }),
      bakedDocker({ docker: { install: false, toJSON: () => ({ install: false }) } as never }),
      bakedDocker({ labels: [...known.labels, undefined as unknown as string] }),
      bakedDocker({ fleetId: undefined }),
      bakedDocker({ blockMetadataForContainers: undefined }),
    ];
    for (const input of cases) {
      expect(outcome(() => render(input as RunnerBootstrap))).toEqual(outcome(() => reference(input)));
    }
  });

  it('keeps renderUserData equal to the full parse and render, errors included', () => {
    for (const [, shape] of shapes) {
      renderUserData(shape);
      for (const [, values] of badDispatches) {
        const input = withDispatch(shape, { handle: shape.handle, dispatchId: shape.dispatchId, ...values });
        expect(outcome(() => renderUserData(input))).toEqual(outcome(() => reference(input)));
      }
      const good = withDispatch(shape, { runner: goodRunner, handle: 'h-2', dispatchId: 'd-2' });
      expect(renderUserData(good)).toBe(reference(good));
    }
  });
});
