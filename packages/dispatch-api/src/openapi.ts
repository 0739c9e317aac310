import { z } from 'zod';
import { COMPONENTS, type ComponentName, ERROR_TEXT, ROUTES, type RouteDef } from './routes.js';

type JsonObject = Record<string, unknown>;

/** Requests are described as the client writes them (`io: 'input'`: defaults are optional). */
function jsonSchema(schema: z.ZodType): JsonObject {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as JsonObject;
}

const ref = (name: ComponentName) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
});

/** A query schema's fields as OpenAPI query parameters, with the same bounds the server checks. */
function queryParameters(query: z.ZodObject): JsonObject[] {
  const schema = jsonSchema(query) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    // A default is the server's business; the document shows it without making the field required.
    const required = schema.required?.includes(name) === true && !('default' in property);
    return { name, in: 'query', ...(required ? { required: true } : {}), schema: property };
  });
}

function operation(route: RouteDef): JsonObject {
  const parameters = [
    ...Object.entries(route.params ?? {}).map(([name, description]) => ({
      name,
      in: 'path',
      required: true,
      description,
      schema: { type: 'string' },
    })),
    ...(route.query ? queryParameters(route.query) : []),
  ];
  const responses: JsonObject = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    responses[status] = {
      description: answer.description,
      ...(answer.json ? ref(answer.json) : {}),
      ...(answer.text ? { content: { 'text/plain': { schema: { type: 'string' } } } } : {}),
    };
  }
  for (const status of route.errors) {
    responses[String(status)] = {
      description: route.errorText?.[status] ?? ERROR_TEXT[status],
      // Open routes answer some errors (a failing readiness check) with their own bodies.
      ...(route.auth === 'client' ? ref('Error') : {}),
    };
  }
  return {
    ...(route.auth === 'open' ? { security: [] } : {}),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: { required: route.body.required, ...ref(route.body.json) } } : {}),
    responses,
  };
}

/**
 * The OpenAPI 3 document of the dispatch API, generated from the route definitions the dispatcher
 * registers its handlers by and from the schemas it validates with, so it cannot drift from them.
 */
export function openApiDocument(routes: Readonly<Record<string, RouteDef>> = ROUTES): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of Object.values(routes)) {
    paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'forgejo-fleet dispatcher', version: '1' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries(
        Object.entries(COMPONENTS).map(([name, schema]) => [name, jsonSchema(schema)]),
      ),
    },
    security: [{ bearer: [] }],
    paths,
  };
}
