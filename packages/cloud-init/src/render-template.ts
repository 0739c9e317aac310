import { stringify } from 'yaml';
import type { ValidRunnerBootstrap } from './bootstrap.js';

/**
 * Renders per-dispatch user-data from a template made once per route-shaped input (everything but
 * the runner, the handle and the dispatch id), because serialising the whole document costs more
 * than anything else between the runner registration and provider.create.
 *
 * Why the result is the same bytes as a full render: the per-dispatch values (a UUID, words of
 * [A-Za-z0-9._:-], a token of [A-Za-z0-9._~+/=-]) hold no quote, newline or control character, so
 * they land verbatim inside the script's single-quoted shell words and the block literals. The
 * template is checked when it is made: rendered with two different sets of stand-ins, the one
 * turned into the other by substitution must equal the other exactly, else no template is kept
 * and every render is a full one. The token sits alone as a YAML scalar, and its form there
 * (plain, or quoted when YAML 1.1 would read it as a number) is decided by the YAML library for
 * the token itself. render-template.test.ts compares both paths over many random inputs.
 */
export function templateRenderer(full: (input: ValidRunnerBootstrap) => string) {
  const templates = new Map<string, Template | null>();

  return function render(input: ValidRunnerBootstrap): string {
    const key = shapeKey(input);
    let template = templates.get(key);
    if (template === undefined) {
      template = makeTemplate(full, input);
      // Bounded: one entry per route shape; a config with more shapes than this just renders fully.
      if (templates.size >= MAX_TEMPLATES) templates.clear();
      templates.set(key, template);
    }
    if (template === null) return full(input);
    return fill(template, valuesOf(input));
  };
}

const MAX_TEMPLATES = 256;

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

// Two sets of stand-ins, valid for the schema and unlike anything a route holds; of different
// lengths, so text derived from a value's length cannot pass the check by coincidence.
const STAND_INS: readonly Values[] = [
  {
    uuid: 'f1ee7000-0000-4000-8000-00000000000a',
    name: 'ffTplNameAqz7',
    handle: 'ffTplHandleAqz7',
    dispatchId: 'ffTplDispatchAqz7',
    token: 'ffTplTokenAqz7xxxxxxxxxxxxxxxxxxx',
  },
  {
    uuid: 'f1ee7000-0000-4000-8000-00000000000b',
    name: 'ffTplNameBwk3-longer',
    handle: 'ffTplHandleBwk3-longer',
    dispatchId: 'ffTplDispatchBwk3-longer',
    token: 'ffTplTokenBwk3yyyyyyyyyyyyyyyyyyy-longer',
  },
];

function shapeKey(input: ValidRunnerBootstrap): string {
  // Which optional values are present changes the document, so it is part of the shape.
  const { runner: _runner, handle, dispatchId, ...shape } = input;
  return JSON.stringify([shape, handle !== undefined, dispatchId !== undefined]);
}

function valuesOf(input: ValidRunnerBootstrap): Values {
  return {
    uuid: input.runner.uuid,
    name: input.runner.name,
    handle: input.handle,
    dispatchId: input.dispatchId,
    token: yamlScalar(input.runner.token),
  };
}

function withValues(input: ValidRunnerBootstrap, values: Values): ValidRunnerBootstrap {
  return {
    ...input,
    runner: { uuid: values.uuid, name: values.name, token: values.token },
    ...(input.handle === undefined ? {} : { handle: values.handle }),
    ...(input.dispatchId === undefined ? {} : { dispatchId: values.dispatchId }),
  };
}

function makeTemplate(
  full: (input: ValidRunnerBootstrap) => string,
  input: ValidRunnerBootstrap,
): Template | null {
  const [a, b] = STAND_INS as [Values, Values];
  let textA: string;
  let textB: string;
  try {
    textA = full(withValues(input, a));
    textB = full(withValues(input, b));
  } catch {
    // Too large with the stand-ins, say: the full render reports it with the real values.
    return null;
  }
  const template = split(textA, a);
  if (template === null || fill(template, { ...b, token: yamlScalar(b.token) }) !== textB) return null;
  return template;
}

function split(text: string, standIns: Values): Template | null {
  const slotOf = new Map<string, keyof Values>();
  for (const [slot, value] of Object.entries(standIns) as [keyof Values, string | undefined][]) {
    if (value !== undefined) slotOf.set(slot === 'token' ? yamlScalar(value) : value, slot);
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

/** The token as YAML 1.1 writes it as a mapping value: plain, or quoted where it would read as a number. */
function yamlScalar(token: string): string {
  return stringify(token, { version: '1.1', lineWidth: 0 }).trimEnd();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
