import responseValidatorModule from 'openapi-response-validator';
import { z } from 'zod';
import type { FakeAnswer } from '../fake-answer.js';

// A CommonJS module with `exports.default`: Node's ESM import yields `module.exports` (the class is its
// `default`), while vitest's interop already unwraps `default`. Accept both.
type ValidatorClass = typeof responseValidatorModule.default;
const imported: unknown = responseValidatorModule;
const OpenAPIResponseValidator: ValidatorClass =
  typeof imported === 'function' ? (imported as ValidatorClass) : responseValidatorModule.default;

/** A documented way the real server departs from its own spec, which the fake copies on purpose. */
export interface DeviationNote {
  /** Short name, reported when an answer needed it. */
  readonly name: string;
  /** Why the real server does this. */
  readonly reason: string;
}

/** A status the real server answers on operations whose spec does not list it. */
export interface ExtraStatus extends DeviationNote {
  readonly status: number;
  /** The response to validate such an answer against, e.g. `#/responses/forbidden`. */
  readonly response: string;
  /**
   * Also where the spec lists the status but not the body the server sends (Kubernetes lists a bare
   * `401`, and its API server answers it with a Status).
   */
  readonly replacesListed?: boolean;
}

/** A status the real server may answer with a plain-text body, which is then not checked. */
export interface PlainTextStatus extends DeviationNote {
  readonly status: number;
}

/** A property the real server sends that the spec's schema does not list. */
export interface AddedProperty extends DeviationNote {
  /** The schema, e.g. `#/definitions/User`. */
  readonly schema: string;
  readonly property: string;
}

export interface Deviations {
  /** `null` is accepted wherever the spec says array (Go marshals a nil slice as `null`). */
  readonly nullForEmptyList?: DeviationNote;
  readonly addedProperties?: readonly AddedProperty[];
  readonly extraStatuses?: readonly ExtraStatus[];
  readonly plainTextStatuses?: readonly PlainTextStatus[];
  /** Answers under these paths belong to another protocol the spec does not describe: not checked. */
  readonly outsideSpec?: readonly (DeviationNote & { readonly pathPrefix: string })[];
}

/** One way an answer differs from the spec. `pointer` is a JSON pointer into the answer's body. */
export interface Mismatch {
  readonly operation: string;
  readonly status: number;
  readonly pointer: string;
  readonly message: string;
}

export interface CheckResult {
  /** `operationId (METHOD /template)`, or undefined when no operation of the spec serves the request. */
  readonly operation: string | undefined;
  readonly mismatches: readonly Mismatch[];
  /** Names of the deviations this answer needed. */
  readonly deviations: readonly string[];
}

export function formatMismatch(m: Mismatch): string {
  return `${m.operation} → ${m.status} at ${m.pointer === '' ? '(body)' : m.pointer}: ${m.message}`;
}

// Only the parts of an OpenAPI 3 / Swagger 2 document the checker reads.
const ResponseObject = z.looseObject({
  $ref: z.string().optional(),
  schema: z.unknown().optional(),
  content: z.record(z.string(), z.looseObject({ schema: z.unknown().optional() })).optional(),
});
type ResponseObject = z.infer<typeof ResponseObject>;
const Operation = z.looseObject({
  operationId: z.string().optional(),
  responses: z.record(z.string(), ResponseObject),
});
const ApiDocument = z.looseObject({
  swagger: z.string().optional(),
  openapi: z.string().optional(),
  basePath: z.string().optional(),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  definitions: z.record(z.string(), z.unknown()).optional(),
  components: z.looseObject({}).optional(),
});

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
/** RFC 3339 `date-time`, which ajv does not check without a format plugin. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

interface Route {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  /** Literal segments: `/hooks/git` beats `/hooks/{id}` for `/hooks/git`. */
  readonly literals: number;
  readonly operationId: string;
  readonly responses: Readonly<Record<string, ResponseObject>>;
}

interface AjvError {
  readonly instancePath: string;
  readonly schemaPath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

interface Issue {
  readonly pointer: string;
  readonly message: string;
  readonly error: AjvError;
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The JSON pointer into the body; a missing or extra property is named in the pointer. */
function toIssue(_mapped: unknown, error: AjvError): Issue {
  let pointer = error.instancePath.replace(/^\/response/, '');
  const property = error.params.missingProperty ?? error.params.additionalProperty;
  if (typeof property === 'string') pointer += `/${escapePointer(property)}`;
  return { pointer, message: error.message ?? error.keyword, error };
}

/** The value a JSON pointer (from ajv's `instancePath`) names inside `body`. */
function valueAt(body: unknown, instancePath: string): unknown {
  let node = body;
  for (const part of instancePath.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

function routePattern(template: string): RegExp {
  const body = template
    .split('/')
    .map((segment) =>
      /^\{[^}]+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${body}$`);
}

/**
 * Closes every object schema that lists its properties and says nothing of others (a deep copy): a
 * property the spec does not know is a fake's invention (a typo, a field of another version). Safe for
 * `allOf` only with one member, which is all these specs use; `check` refuses documents with more.
 */
function closeObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closeObjects);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = closeObjects(inner);
  if (Array.isArray(copy.allOf) && copy.allOf.length > 1)
    throw new Error('closing objects under a multi-member allOf would reject valid answers');
  const properties = copy.properties;
  // `properties` may itself be a property's name: only a map of schemas makes this a schema.
  if (properties !== null && typeof properties === 'object' && !('additionalProperties' in copy))
    copy.additionalProperties = false;
  return copy;
}

/**
 * Checks recorded answers of a fake against an OpenAPI 3 or Swagger 2 document: finds the operation
 * (method + path template below `basePath`), picks the response for the status (exact, then `4XX`-style
 * range, then `default`, then a documented extra status) and validates the body with
 * openapi-response-validator (ajv).
 */
export function createResponseChecker(raw: unknown, opts: { basePath: string; deviations?: Deviations }) {
  const doc = ApiDocument.parse(raw);
  const deviations = opts.deviations ?? {};
  const rawDoc = raw as Record<string, unknown>;
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, value] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const operation = Operation.parse(value);
      routes.push({
        method: method.toUpperCase(),
        template,
        pattern: routePattern(template),
        literals: template.split('/').filter((s) => s !== '' && !s.startsWith('{')).length,
        operationId: operation.operationId ?? `${method} ${template}`,
        responses: operation.responses,
      });
    }
  }

  const schemas = closeObjects({ definitions: doc.definitions, components: doc.components }) as {
    definitions: typeof doc.definitions;
    components: typeof doc.components;
  };
  const validators = new Map<string, InstanceType<ValidatorClass>>();

  function resolve(ref: string): unknown {
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, not ${ref}`);
    let node: unknown = rawDoc;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
    return node;
  }

  /** The body schema of a response (Swagger 2 `schema`, OpenAPI 3 JSON content), undefined: no body. */
  function bodySchema(response: ResponseObject): unknown {
    const resolved = response.$ref === undefined ? response : ResponseObject.parse(resolve(response.$ref));
    if (resolved.schema !== undefined) return resolved.schema;
    const json = Object.entries(resolved.content ?? {}).find(([type]) => type.includes('json'));
    return json?.[1].schema;
  }

  function issues(schema: unknown, body: unknown): Issue[] {
    const key = JSON.stringify(schema ?? null);
    let validator = validators.get(key);
    if (validator === undefined) {
      validator = new OpenAPIResponseValidator({
        // No schema: the library expects no body (`null`).
        responses: { default: { schema: (closeObjects(schema) ?? { type: 'null' }) as never } },
        ...(schemas.definitions === undefined ? {} : { definitions: schemas.definitions as never }),
        ...(schemas.components === undefined ? {} : { components: schemas.components as never }),
        customFormats: { 'date-time': (value: string) => DATE_TIME.test(value) },
        errorTransformer: toIssue,
      });
      validators.set(key, validator);
    }
    // A deep copy: the library fills in schema defaults in place.
    const result = validator.validateResponse('default', structuredClone(body));
    return (result?.errors ?? []) as Issue[];
  }

  /** The documented deviation that explains this issue, if one does. */
  function explains(issue: Issue, body: unknown): string | undefined {
    const { error } = issue;
    const nulls = deviations.nullForEmptyList;
    if (
      nulls !== undefined &&
      error.keyword === 'type' &&
      error.params.type === 'array' &&
      valueAt(body, error.instancePath.replace(/^\/response/, '')) === null
    ) {
      return nulls.name;
    }
    if (error.keyword === 'additionalProperties') {
      const added = deviations.addedProperties?.find(
        (d) =>
          error.schemaPath === `${d.schema}/additionalProperties` &&
          error.params.additionalProperty === d.property,
      );
      return added?.name;
    }
    return undefined;
  }

  function findRoute(method: string, path: string): Route | undefined {
    const candidates = routes.filter((r) => r.method === method && r.pattern.test(path));
    return candidates.sort((a, b) => b.literals - a.literals)[0];
  }

  function parseBody(answer: FakeAnswer): { ok: true; body: unknown } | { ok: false; message: string } {
    if (answer.body === '') return { ok: true, body: undefined };
    if (!(answer.contentType ?? '').includes('json'))
      return { ok: false, message: `body is not JSON (content-type ${answer.contentType ?? 'none'})` };
    try {
      return { ok: true, body: JSON.parse(answer.body) as unknown };
    } catch {
      return { ok: false, message: 'body is not valid JSON' };
    }
  }

  return {
    check(answer: FakeAnswer): CheckResult {
      const fail = (operation: string, pointer: string, message: string, used: string[] = []) => ({
        operation,
        mismatches: [{ operation, status: answer.status, pointer, message }],
        deviations: used,
      });
      const outside = deviations.outsideSpec?.find((d) => answer.path.startsWith(d.pathPrefix));
      if (outside !== undefined) return { operation: undefined, mismatches: [], deviations: [outside.name] };
      const apiPath = answer.path.startsWith(opts.basePath)
        ? answer.path.slice(opts.basePath.length)
        : undefined;
      const route = apiPath === undefined ? undefined : findRoute(answer.method, apiPath);
      if (route === undefined) {
        const where = `${answer.method} ${answer.path}`;
        return { ...fail(where, '', `no operation in the spec serves ${where}`), operation: undefined };
      }
      const operation = `${route.operationId} (${route.method} ${route.template})`;
      const status = String(answer.status);
      const range = `${status[0]}XX`;
      const listed =
        route.responses[status] ??
        Object.entries(route.responses).find(([key]) => key.toUpperCase() === range)?.[1] ??
        route.responses.default;
      const extra = deviations.extraStatuses?.find((e) => e.status === answer.status);
      const used: string[] = [];
      let response = listed;
      if (extra !== undefined && (response === undefined || extra.replacesListed === true)) {
        response = { $ref: extra.response };
        used.push(extra.name);
      }
      const plain = deviations.plainTextStatuses?.find((d) => d.status === answer.status);
      if (plain !== undefined && (answer.contentType ?? '').startsWith('text/plain'))
        return { operation, mismatches: [], deviations: [plain.name] };
      if (response === undefined) {
        return fail(operation, '', `status ${status} is not in the spec's responses for this operation`);
      }
      const parsed = parseBody(answer);
      if (!parsed.ok) return fail(operation, '', parsed.message, used);
      const found: Issue[] = [];
      for (const issue of issues(bodySchema(response), parsed.body)) {
        const deviation = explains(issue, parsed.body);
        if (deviation === undefined) found.push(issue);
        else if (!used.includes(deviation)) used.push(deviation);
      }
      return {
        operation,
        mismatches: found.map((i) => ({
          operation,
          status: answer.status,
          pointer: i.pointer,
          message: i.message,
        })),
        deviations: used,
      };
    },
  };
}

export type ResponseChecker = ReturnType<typeof createResponseChecker>;

export interface CheckSummary {
  /** One line per mismatch, see `formatMismatch`. */
  readonly failures: readonly string[];
  /** `operationId status` of every answer checked, to assert how broad the exercise was. */
  readonly covered: ReadonlySet<string>;
  /** How many answers needed each deviation. */
  readonly deviationsUsed: ReadonlyMap<string, number>;
}

/** Checks many answers at once. */
export function checkAnswers(checker: ResponseChecker, answers: readonly FakeAnswer[]): CheckSummary {
  const failures: string[] = [];
  const covered = new Set<string>();
  const deviationsUsed = new Map<string, number>();
  for (const answer of answers) {
    const result = checker.check(answer);
    if (result.operation !== undefined) covered.add(`${result.operation.split(' ')[0]} ${answer.status}`);
    for (const m of result.mismatches) failures.push(formatMismatch(m));
    for (const name of result.deviations) deviationsUsed.set(name, (deviationsUsed.get(name) ?? 0) + 1);
  }
  return { failures: [...new Set(failures)], covered, deviationsUsed };
}
