import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bakedDocker, downloadHost, twentyLabels } from './__fixtures__/inputs.js';
import { RunnerBootstrap, type ValidRunnerBootstrap } from './bootstrap.js';
import { renderFull } from './render.js';
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
