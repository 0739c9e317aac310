import type { RunnerBootstrap, ValidRunnerBootstrap } from './bootstrap.js';
import { yamlScalar } from './render-scalar.js';
import { type Dispatch, parseBootstrap, parseDispatch, routeShapeKey } from './render-shape.js';

/**
 * Validates and renders per-dispatch user-data from what is kept per route-shaped input
 * (everything but the runner, the handle and the dispatch id): the result of the full schema
 * check, and a template of the document. Both cost more than anything else between the runner
 * registration and provider.create, and neither changes from one dispatch of a route to the next.
 *
 * Validation: the first input of a shape gets the full parse, and only a shape that passes it is
 * kept; a later input with the same shape key (render-shape.ts) has only its per-dispatch fields
 * checked, by the same field schemas, so it fails with the same InvalidRunnerBootstrapError.
 *
 * Why the result is the same bytes as a full render: the per-dispatch values (a UUID, words of
 * [A-Za-z0-9._:-], a token of [A-Za-z0-9._~+/=-]) hold no quote, newline or control character, so
 * they land verbatim inside the script's single-quoted shell words and the block literals. The
 * template is checked when it is made: rendered with two different sets of stand-ins, the one
 * turned into the other by substitution must equal the other exactly, else no template is kept
 * and every render is a full one. The token sits alone as a YAML scalar, and its form there
 * (plain, or quoted when YAML 1.1 would read it as a number) is the YAML library's for the token
 * itself (render-scalar.ts). render-template.test.ts compares both paths over many random inputs.
 */
export function templateRenderer(full: (input: ValidRunnerBootstrap) => string) {
  const shapes = new Map<string, Shape>();

  return function render(input: RunnerBootstrap): string {
    const key = routeShapeKey(input);
    const known = key === undefined ? undefined : shapes.get(key);
    if (known !== undefined) return renderDispatch(full, known, parseDispatch(input));
    const valid = parseBootstrap(input);
    if (key === undefined) return full(valid);
    const shape: Shape = { valid, template: makeTemplate(full, valid) };
    // Bounded: one entry per route shape; a config with more shapes than this starts over.
    if (shapes.size >= MAX_TEMPLATES) shapes.clear();
    shapes.set(key, shape);
    return renderDispatch(full, shape, valid);
  };
}

const MAX_TEMPLATES = 256;

interface Shape {
  /** The first input of this shape, as the full parse gave it. */
  readonly valid: ValidRunnerBootstrap;
  /** Null where the document cannot be templated: every render of the shape is a full one. */
  readonly template: Template | null;
}

/** The text each slot of a template is filled with. */
interface Values {
  readonly uuid: string;
  readonly name: string;
  readonly handle: string | undefined;
  readonly dispatchId: string | undefined;
  readonly token: string;
}

interface Template {
  /** The document split at the stand-ins: text, slot, text, slot, … text. */
  readonly parts: readonly string[];
  readonly slots: readonly (keyof Values)[];
}

function renderDispatch(
  full: (input: ValidRunnerBootstrap) => string,
  shape: Shape,
  dispatch: Dispatch,
): string {
  if (shape.template === null) return full(withDispatch(shape.valid, dispatch));
  return fill(shape.template, valuesOf(dispatch));
}

// Two sets of stand-ins, valid for the schema and unlike anything a route holds; of different
// lengths, so text derived from a value's length cannot pass the check by coincidence.
const STAND_INS: readonly [Required<Dispatch>, Required<Dispatch>] = [
  {
    runner: {
      uuid: 'f1ee7000-0000-4000-8000-00000000000a',
      name: 'ffTplNameAqz7',
      token: 'ffTplTokenAqz7xxxxxxxxxxxxxxxxxxx',
    },
    handle: 'ffTplHandleAqz7',
    dispatchId: 'ffTplDispatchAqz7',
  },
  {
    runner: {
      uuid: 'f1ee7000-0000-4000-8000-00000000000b',
      name: 'ffTplNameBwk3-longer',
      token: 'ffTplTokenBwk3yyyyyyyyyyyyyyyyyyy-longer',
    },
    handle: 'ffTplHandleBwk3-longer',
    dispatchId: 'ffTplDispatchBwk3-longer',
  },
];

function valuesOf(dispatch: Dispatch): Values {
  return {
    uuid: dispatch.runner.uuid,
    name: dispatch.runner.name,
    handle: dispatch.handle,
    dispatchId: dispatch.dispatchId,
    token: yamlScalar(dispatch.runner.token),
  };
}

/** `input` with another dispatch's values, keeping which of the optional ones it has. */
function withDispatch(input: ValidRunnerBootstrap, dispatch: Dispatch): ValidRunnerBootstrap {
  return {
    ...input,
    runner: dispatch.runner,
    ...(input.handle === undefined ? {} : { handle: dispatch.handle }),
    ...(input.dispatchId === undefined ? {} : { dispatchId: dispatch.dispatchId }),
  };
}

function makeTemplate(
  full: (input: ValidRunnerBootstrap) => string,
  input: ValidRunnerBootstrap,
): Template | null {
  const [a, b] = STAND_INS;
  let textA: string;
  let textB: string;
  try {
    textA = full(withDispatch(input, a));
    textB = full(withDispatch(input, b));
  } catch {
    // Too large with the stand-ins, say: the full render reports it with the real values.
    return null;
  }
  const template = split(textA, valuesOf(a));
  if (template === null || fill(template, valuesOf(b)) !== textB) return null;
  return template;
}

function split(text: string, standIns: Values): Template | null {
  const slotOf = new Map<string, keyof Values>();
  for (const [slot, value] of Object.entries(standIns) as [keyof Values, string | undefined][]) {
    if (value !== undefined) slotOf.set(value, slot);
  }
  const pattern = new RegExp([...slotOf.keys()].map(escapeRegExp).join('|'), 'g');
  const parts: string[] = [];
  const slots: (keyof Values)[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(text.slice(last, match.index));
    slots.push(slotOf.get(match[0]) as keyof Values);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  // The token must be in the document exactly once, or this is not the document we know.
  return slots.filter((slot) => slot === 'token').length === 1 ? { parts, slots } : null;
}

function fill(template: Template, values: Values): string {
  let out = template.parts[0] as string;
  for (let i = 0; i < template.slots.length; i++) {
    out += (values[template.slots[i] as keyof Values] ?? '') + (template.parts[i + 1] as string);
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
