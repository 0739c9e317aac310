/**
 * Bad input for both config files (fast-check): generated YAML text and the example configs with
 * one generated change either load or fail with a ConfigError naming the file; nothing else is
 * ever thrown (no TypeError from a missing check, no crash in the YAML layer), including when a
 * secret file named by the changed config cannot be read.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseAutoscalerConfig } from './autoscaler/load.js';
import { parseDispatcherConfig } from './dispatcher/load.js';
import { ConfigError } from './issues.js';

export const FUZZ_RUNS = { text: 400, mutations: 400 } as const;

const root = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = {
  dispatcher: readFileSync(`${root}config.example.yaml`, 'utf8'),
  autoscaler: readFileSync(`${root}autoscaler.example.yaml`, 'utf8'),
};
const PARSERS = { dispatcher: parseDispatcherConfig, autoscaler: parseAutoscalerConfig };
const env = { CREDENTIALS_DIRECTORY: '/run/credentials/fleet', SOME_TOKEN: 'token-from-env-0123456789' };

/** Loads `text`; returns 'ok' or 'config-error', and rethrows anything else (the property fails). */
function load(kind: keyof typeof PARSERS, text: string): 'ok' | 'config-error' {
  const reads: string[] = [];
  try {
    PARSERS[kind](text, {
      file: `${kind}.yaml`,
      env,
      readFile: (path) => {
        reads.push(path);
        if (path.startsWith('/run/credentials/fleet/')) return `secret:${path}`;
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      },
    });
    return 'ok';
  } catch (error) {
    if (error instanceof ConfigError) {
      expect(error.file).toBe(`${kind}.yaml`);
      expect(error.issues.length).toBeGreaterThan(0);
      return 'config-error';
    }
    throw error;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a parsed YAML document, for picking one to change. */
function paths(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...at, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  }
  return out;
}

function mutate(doc: Json, path: (string | number)[], how: string, replacement: Json): Json {
  if (path.length === 0) return how === 'delete' ? null : replacement;
  const [head, ...rest] = path;
  if (Array.isArray(doc)) {
    const copy = [...doc];
    if (rest.length === 0 && how === 'delete') copy.splice(Number(head), 1);
    else copy[Number(head)] = mutate(copy[Number(head)] ?? null, rest, how, replacement);
    return copy;
  }
  if (doc !== null && typeof doc === 'object') {
    const copy = { ...doc };
    const key = String(head);
    if (rest.length === 0 && how === 'delete') delete copy[key];
    else if (rest.length === 0 && how === 'add') copy[`${key}_extra`] = replacement;
    else copy[key] = mutate(copy[key] ?? null, rest, how, replacement);
    return copy;
  }
  return replacement;
}

const REPLACEMENT: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue() as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    '',
    '0s',
    '-1s',
    '99999999h',
    '1e400',
    'NaN',
    '../../etc/passwd',
    '/nix/store/x',
    'org:',
    '*',
    'instance',
    -1,
    0,
    2 ** 53,
    1.5,
    true,
    null,
    [],
    {},
  ),
);

describe('config files under bad input', () => {
  it.each(['dispatcher', 'autoscaler'] as const)(
    `%s: ${FUZZ_RUNS.text} generated YAML texts load or fail with a ConfigError`,
    (kind) => {
      const TEXT = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.jsonValue().map((v) => stringify(v)),
        fc.string({ unit: fc.constantFrom(...'abc:- \n\t{}[]&*!|>\'"#%@`,?0123456789'), maxLength: 200 }),
        fc.nat({ max: EXAMPLES[kind].length }).map((n) => EXAMPLES[kind].slice(0, n)),
      );
      fc.assert(
        fc.property(TEXT, (text) => {
          load(kind, text);
        }),
        { numRuns: FUZZ_RUNS.text, seed: 3 },
      );
    },
  );

  it.each(['dispatcher', 'autoscaler'] as const)(
    `%s: ${FUZZ_RUNS.mutations} single changes to the example load or fail with a ConfigError`,
    (kind) => {
      expect(load(kind, EXAMPLES[kind])).toBe('ok');
      const doc = parse(EXAMPLES[kind]) as Json;
      const all = paths(doc);
      const outcomes = { ok: 0, 'config-error': 0 };
      fc.assert(
        fc.property(
          fc.nat({ max: all.length - 1 }),
          fc.constantFrom('replace', 'delete', 'add'),
          REPLACEMENT,
          (index, how, replacement) => {
            const changed = mutate(doc, all[index] ?? [], how, replacement);
            outcomes[load(kind, stringify(changed))]++;
          },
        ),
        { numRuns: FUZZ_RUNS.mutations, seed: 4 },
      );
      // Both outcomes occur, so the generator neither only breaks nor only keeps the file valid.
      expect(outcomes.ok).toBeGreaterThan(0);
      expect(outcomes['config-error']).toBeGreaterThan(0);
    },
  );
});
