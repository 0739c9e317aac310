import type { z } from 'zod';
import { RunnerBootstrap, RunnerBootstrapFields, type ValidRunnerBootstrap } from './bootstrap.js';
import { InvalidRunnerBootstrapError } from './errors.js';

/**
 * What changes from one dispatch of a route to the next; everything else is the route's shape.
 * In the schema's order, so a failing check lists the fields in the order the full parse does.
 */
const DISPATCH_MASK = { runner: true, handle: true, dispatchId: true } as const;

// Picked, not rewritten: each field keeps the one rule bootstrap.ts gives it.
const DispatchFields = RunnerBootstrapFields.pick(DISPATCH_MASK);

/** The per-dispatch fields of a valid input. */
export type Dispatch = z.output<typeof DispatchFields>;

const SHAPE_KEYS = Object.keys(RunnerBootstrapFields.shape).filter((key) => !(key in DISPATCH_MASK));

/** The full check: every field, and the rules across fields. */
export function parseBootstrap(input: RunnerBootstrap): ValidRunnerBootstrap {
  const parsed = RunnerBootstrap.safeParse(input);
  if (!parsed.success) throw new InvalidRunnerBootstrapError(parsed.error);
  return parsed.data;
}

/**
 * The per-dispatch fields alone, for an input whose shape passed parseBootstrap. The cross-field
 * rule reads only shape fields, so a failure here has exactly the issues the full parse reports.
 */
export function parseDispatch(input: RunnerBootstrap): Dispatch {
  const parsed = DispatchFields.safeParse(input);
  if (!parsed.success) throw new InvalidRunnerBootstrapError(parsed.error);
  return parsed.data;
}

/**
 * A key equal for two inputs only when the schema sees the same shape fields in both, so one full
 * parse stands for every later input with that key; plus which optional dispatch values are
 * present, since that changes the document. Undefined for anything but plain data (a class
 * instance, a function, a cycle, NaN): such an input is parsed in full every time.
 */
export function routeShapeKey(input: RunnerBootstrap): string | undefined {
  if (!isPlainObject(input)) return undefined;
  const record = input as unknown as Record<string, unknown>;
  let key = '';
  for (const field of SHAPE_KEYS) {
    // The schema tells a missing key from one holding undefined, so the key does too.
    const value = field in record ? encode(record[field], MAX_DEPTH) : '-';
    if (value === undefined) return undefined;
    key += `${value},`;
  }
  return `${key}${input.handle !== undefined},${input.dispatchId !== undefined}`;
}

// Deeper than any valid input (labels, install and docker hold only scalars); bounds the walk.
const MAX_DEPTH = 2;

/** JSON, except that undefined is written and not dropped, and -0 or a non-finite number gives up. */
function encode(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? String(value) : undefined;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'object':
      if (value === null) return 'null';
      if (depth === 0) return undefined;
      return Array.isArray(value) ? encodeArray(value, depth - 1) : encodeObject(value, depth - 1);
    default:
      return undefined;
  }
}

function encodeArray(items: readonly unknown[], depth: number): string | undefined {
  let out = '[';
  // By index, as the schema reads an array: a hole is undefined.
  for (let i = 0; i < items.length; i++) {
    const item = encode(items[i], depth);
    if (item === undefined) return undefined;
    out += `${item},`;
  }
  return `${out}]`;
}

function encodeObject(object: object, depth: number): string | undefined {
  if (!isPlainObject(object)) return undefined;
  let out = '{';
  // Every own key, enumerable or not: the schema reads properties, not what JSON would list.
  for (const name of Reflect.ownKeys(object)) {
    if (typeof name !== 'string') return undefined;
    const item = encode((object as Record<string, unknown>)[name], depth);
    if (item === undefined) return undefined;
    out += `${JSON.stringify(name)}:${item},`;
  }
  return `${out}}`;
}

/** An object literal: what the schema reads of it is its own properties, nothing inherited. */
function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
