/**
 * Writes docs/config-reference.md from the zod schemas of both config files (packages/config), so
 * the reference never drifts from what the services accept. test/deploy/config-reference.test.ts
 * fails when the committed file is stale.
 *
 *   node --conditions=source --import tsx scripts/gen-config-docs.ts           # rewrite the file
 *   node --conditions=source --import tsx scripts/gen-config-docs.ts --check   # exit 1 when stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AutoscalerConfigShape, DispatcherConfigShape } from '@forgejo-fleet/config';
import { z } from 'zod';

export const REFERENCE_PATH = fileURLToPath(new URL('../docs/config-reference.md', import.meta.url));

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  maxLength?: number;
  maxItems?: number;
  /** Set by the runtime kit's `Duration` (@forgejo-fleet/runtime/config): its accepted range. */
  'x-duration'?: { min: string; max: string };
  minLength?: number;
  minItems?: number;
  description?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly required: boolean;
  readonly fallback: string;
  readonly notes: string;
}

interface Section {
  readonly title: string;
  readonly rows: Row[];
}

/** Where a record's keys are free, the reference shows a placeholder named after the record. */
const PLACEHOLDERS: Record<string, string> = {
  providers: 'NAME',
  scopes: 'SCOPE',
  env: 'VAR',
  secret_files: 'VAR',
  hourly_prices: 'MACHINE',
};

function code(text: string): string {
  return `\`${text.replaceAll('|', '\\|')}\``;
}

function show(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return code(value);
  return code(JSON.stringify(value));
}

function variants(schema: JsonSchema): JsonSchema[] | undefined {
  return schema.oneOf ?? schema.anyOf;
}

/** The discriminator of a union of objects (`kind`, `mode`), when every variant has one constant. */
function discriminator(options: JsonSchema[]): string | undefined {
  const first = options[0]?.properties ?? {};
  return Object.keys(first).find((key) => options.every((o) => o.properties?.[key]?.const !== undefined));
}

const DURATION = /^(\d+(ms|s|m|h|d))+$/;

function typeOf(schema: JsonSchema): string {
  if (schema['x-duration'] !== undefined) return 'duration';
  if (schema.type === 'string' && typeof schema.default === 'string' && DURATION.test(schema.default)) {
    return 'duration';
  }
  if (schema.const !== undefined) return show(schema.const);
  if (schema.enum) return schema.enum.map(show).join(', ');
  const options = variants(schema);
  if (options) return options.map(typeOf).join(' or ');
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'any'}`;
  if (schema.type === 'object') {
    return typeof schema.additionalProperties === 'object'
      ? `map to ${typeOf(schema.additionalProperties)}`
      : 'object';
  }
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  return schema.type ?? 'any';
}

function notesOf(schema: JsonSchema): string {
  const notes: string[] = [];
  if (schema.description) notes.push(schema.description);
  const range = rangeOf(schema);
  if (range) notes.push(range);
  if (schema.minItems !== undefined && schema.minItems > 0) notes.push(`at least ${schema.minItems} item(s)`);
  if (schema.maxItems !== undefined) notes.push(`at most ${schema.maxItems} item(s)`);
  if (schema.minLength !== undefined && schema.minLength > 1)
    notes.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) notes.push(`at most ${schema.maxLength} characters`);
  const pattern = schema.pattern ?? (schema.type === 'array' ? schema.items?.pattern : undefined);
  if (pattern) notes.push(`matches ${code(pattern)}`);
  return notes.join('; ');
}

/** Every bound a key has, so an operator never learns a limit from an error at start. */
function rangeOf(schema: JsonSchema): string | undefined {
  const duration = schema['x-duration'];
  if (duration) return `${duration.min} to ${duration.max}`;
  const max = schema.maximum === Number.MAX_SAFE_INTEGER ? undefined : schema.maximum;
  const low =
    schema.minimum !== undefined
      ? { text: String(schema.minimum), open: false }
      : schema.exclusiveMinimum !== undefined
        ? { text: String(schema.exclusiveMinimum), open: true }
        : undefined;
  const high =
    max !== undefined
      ? { text: String(max), open: false }
      : schema.exclusiveMaximum !== undefined
        ? { text: String(schema.exclusiveMaximum), open: true }
        : undefined;
  if (low && high && !low.open && !high.open) return `${low.text} to ${high.text}`;
  const parts = [
    low ? `${low.open ? 'more than' : 'at least'} ${low.text}` : undefined,
    high ? `${high.open ? 'less than' : 'at most'} ${high.text}` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** Secret `X` is written as `X_file` or `X_env`; the inline key `X` exists only to be refused. */
function secretNames(properties: Record<string, JsonSchema>): Set<string> {
  return new Set(
    Object.keys(properties).filter((key) => `${key}_file` in properties && `${key}_env` in properties),
  );
}

/** Unions already given their own sections, by shape: a second use points at the first. */
type Seen = Map<string, string>;

function walk(
  schema: JsonSchema,
  path: string,
  required: boolean,
  sections: Section[],
  current: Section,
  seen: Seen,
): void {
  const options = variants(schema);
  const tag = options ? discriminator(options) : undefined;
  if (options && tag) {
    const shape = JSON.stringify(options);
    const first = seen.get(shape);
    if (first !== undefined) {
      current.rows.push({
        key: path,
        type: 'object',
        required,
        fallback: show(schema.default),
        notes: `the same ${code(tag)} variants as ${code(first)}`,
      });
      return;
    }
    seen.set(shape, path);
    for (const option of options) {
      const value = option.properties?.[tag]?.const;
      const section: Section = { title: `${code(path)} with ${code(`${tag}: ${String(value)}`)}`, rows: [] };
      sections.push(section);
      walk({ ...option, default: undefined }, path, required, sections, section, seen);
    }
    if (schema.default !== undefined) {
      current.rows.push({
        key: path,
        type: 'object',
        required,
        fallback: show(schema.default),
        notes: `one of the ${code(tag)} variants below`,
      });
    }
    return;
  }
  if (schema.type === 'object' && schema.properties) {
    const secrets = secretNames(schema.properties);
    const needed = new Set(schema.required ?? []);
    for (const [key, child] of Object.entries(schema.properties)) {
      if (secrets.has(key)) continue;
      const childPath = path === '' ? key : `${path}.${key}`;
      const secretOf = [...secrets].find((name) => key === `${name}_file` || key === `${name}_env`);
      if (secretOf && key.endsWith('_env')) continue;
      if (secretOf) {
        current.rows.push({
          key: `${path === '' ? '' : `${path}.`}${secretOf}_file / ${secretOf}_env`,
          type: 'secret',
          required: false,
          fallback: '',
          notes: `a file (relative: under $CREDENTIALS_DIRECTORY) or an environment variable name; never inline`,
        });
        continue;
      }
      walk(child, childPath, needed.has(key), sections, current, seen);
    }
    return;
  }
  if (schema.type === 'object' && typeof schema.additionalProperties === 'object') {
    const last = path.split('.').at(-1) ?? path;
    const value = schema.additionalProperties;
    if (value.type === 'object' || variants(value)) {
      const placeholder = PLACEHOLDERS[last] ?? 'KEY';
      const before = current.rows.length;
      walk(value, `${path}.${placeholder}`, false, sections, current, seen);
      if (current.rows.length === before && !variants(value)) {
        current.rows.push({
          key: `${path}.${placeholder}`,
          type: 'object',
          required,
          fallback: show(schema.default),
          notes: '',
        });
      }
      return;
    }
  }
  if (schema.type === 'array' && schema.items?.type === 'object' && schema.items.properties) {
    current.rows.push({
      key: path,
      type: 'list of objects',
      required,
      fallback: show(schema.default),
      notes: notesOf(schema),
    });
    walk(schema.items, `${path}[]`, false, sections, current, seen);
    return;
  }
  current.rows.push({
    key: path,
    type: typeOf(schema),
    required,
    fallback: show(schema.default),
    notes: notesOf(schema),
  });
}

function table(rows: readonly Row[]): string {
  const lines = ['| key | type | required | default | notes |', '| --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(
      `| ${code(row.key)} | ${row.type} | ${row.required ? 'yes' : ''} | ${row.fallback} | ${row.notes} |`,
    );
  }
  return lines.join('\n');
}

function fileReference(title: string, schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const main: Section = { title, rows: [] };
  const sections: Section[] = [];
  walk(json, '', true, sections, main, new Map());
  return [
    `## ${title}`,
    '',
    table(main.rows),
    ...sections.flatMap((s) => ['', `### ${s.title}`, '', table(s.rows)]),
  ].join('\n');
}

/** The whole reference, as committed in docs/config-reference.md. */
export function renderConfigReference(): string {
  return `# Configuration reference (generated)

<!-- Generated by scripts/gen-config-docs.ts from the zod schemas in packages/config. Do not edit by hand:
     run \`node --conditions=source --import tsx scripts/gen-config-docs.ts\`. A test fails when this is stale. -->

Every key both YAML files accept, generated from the schemas the services validate with, so it is
exact about names, types, defaults and which keys are required. Unknown keys are errors.
[configuration.md](configuration.md) explains what the keys mean, the cross-field rules (route →
provider, client → scope, route ties) and examples; [config.example.yaml](../config.example.yaml) and
[autoscaler.example.yaml](../autoscaler.example.yaml) are complete, commented files.

- **Secrets** are \`X_file\` (a path; relative paths resolve against \`$CREDENTIALS_DIRECTORY\`, which
  systemd's \`LoadCredential=\` sets) or \`X_env\` (the name of an environment variable), exactly one of
  them; the inline \`X\` is refused. Whether a secret is required is checked after the schema, and
  named in the error.
- **Durations** are strings like \`250ms\`, \`90s\`, \`10m\`, \`1h30m\`, \`1d\`; each key has a range, checked at start.
- **Placeholders**: \`NAME\` is a provider name, \`SCOPE\` a scope key (\`instance\`, \`org:NAME\`,
  \`user:NAME\`, \`repo:OWNER/NAME\`), \`VAR\` an environment variable name, \`[]\` an item of a list.
- **required** means required whenever the enclosing section is present (\`webhook.listen.port\` only
  when there is a \`webhook\`).
- Check a file with \`forgejo-fleet validate-config --dispatcher FILE --autoscaler FILE\`.

${fileReference('Dispatcher (`forgejo-fleet-dispatcher --config FILE`)', DispatcherConfigShape)}

${fileReference('Autoscaler (`forgejo-fleet-autoscaler --config FILE`)', AutoscalerConfigShape)}
`;
}

function main(): number {
  const text = renderConfigReference();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(REFERENCE_PATH, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current === text) return 0;
    process.stderr.write(
      'docs/config-reference.md is stale: run node --conditions=source --import tsx scripts/gen-config-docs.ts\n',
    );
    return 1;
  }
  writeFileSync(REFERENCE_PATH, text);
  process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main();
}
