import { formatZodPath } from '@forgejo-fleet/runtime';
import type { z } from 'zod';

export type ConfigPath = readonly (string | number)[];

export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly message: string;
}

/** Every problem found in one config file, formatted `file: path: message`, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(file, issue)).join('\n'));
    this.file = file;
    this.issues = issues;
  }

  lines(): string[] {
    return this.issues.map((issue) => formatIssue(this.file, issue));
  }
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const path = formatZodPath(issue.path);
  return path === '' ? `${file}: ${issue.message}` : `${file}: ${path}: ${issue.message}`;
}

/** `routes[1].providers[0]`, `scopes["org:acme"].token_file`: the kit's one formatter, named for config. */
export { formatZodPath as formatPath } from '@forgejo-fleet/runtime';

/** Turns zod's issues into config issues with messages an operator can act on. */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: z.ZodType,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, path, input);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        const hint = guess
          ? ` (did you mean "${guess}"?)`
          : known.length > 0
            ? ` (known: ${known.join(', ')})`
            : '';
        out.push({ path: [...path, key], message: `unknown key${hint}` });
      }
    } else if (issue.code === 'invalid_type') {
      const actual = describe(valueAt(input, path));
      const expected = issue.message.startsWith('Invalid input')
        ? `expected ${issue.expected}`
        : issue.message;
      out.push({
        path,
        message: actual === 'missing' ? `required (${expected})` : `${expected}, got ${actual}`,
      });
    } else if (issue.code === 'invalid_value' && issue.message.startsWith('Invalid')) {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
      out.push({ path, message: `got ${describe(valueAt(input, path))}, expected one of ${allowed}` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
};

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The keys an object schema allows at `path`, found by walking the schema beside the input. */
function keysAt(schema: z.ZodType, path: ConfigPath, input: unknown): string[] {
  let node: z.ZodType | undefined = schema;
  let value: unknown = input;
  for (let i = 0; i <= path.length && node; i++) {
    node = unwrap(node, value);
    if (!node) return [];
    if (i === path.length) break;
    const part = path[i] as string | number;
    const def = defOf(node);
    value =
      value !== null && typeof value === 'object'
        ? (value as Record<string | number, unknown>)[part]
        : undefined;
    if (def.type === 'object') node = def.shape?.[String(part)];
    else if (def.type === 'array') node = def.element;
    else if (def.type === 'record') node = def.valueType;
    else return [];
  }
  const def = node ? defOf(node) : undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: z.ZodType, value: unknown): z.ZodType | undefined {
  let node = schema;
  for (;;) {
    const def = defOf(node);
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else if (def.type === 'union' && def.options) {
      const picked = pickUnionOption(def, value);
      if (!picked) return undefined;
      node = picked;
    } else return node;
  }
}

function pickUnionOption(def: Def, value: unknown): z.ZodType | undefined {
  const options = def.options ?? [];
  if (!def.discriminator || value === null || typeof value !== 'object') return options[0];
  const tag = (value as Record<string, unknown>)[def.discriminator];
  return options.find((option) => {
    const literal = defOf(option).shape?.[def.discriminator as string];
    return literal ? (defOf(literal).values ?? []).includes(tag) : false;
  });
}

function valueAt(root: unknown, path: ConfigPath): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The candidate within edit distance 2 of `word`, for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}
