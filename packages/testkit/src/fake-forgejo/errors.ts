import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** `setting.API.SwaggerURL`, the `url` of every Forgejo API error body. */
export function swaggerUrl(c: Context): string {
  return `${new URL(c.req.url).origin}/api/swagger`;
}

/** `APIContext.Error`: `{message, url}`. */
export function apiError(c: Context, status: number, message: string): Response {
  return c.json({ message, url: swaggerUrl(c) }, status as ContentfulStatusCode);
}

/** `APIContext.NotFound`: 404 `{message, url, errors}`. */
export function notFound(c: Context, ...errors: string[]): Response {
  return c.json({ message: "The target couldn't be found.", url: swaggerUrl(c), errors }, 404);
}

/** A binding failure (`bind` in api.go): 422 `{"message":"[Field]: Required", url}`. */
export function bindingError(c: Context, field: string, rule = 'Required'): Response {
  return apiError(c, 422, `[${field}]: ${rule}`);
}

/** Reads a JSON body; `undefined` when it is not valid JSON. */
export async function readJson(c: Context): Promise<unknown> {
  try {
    const text = await c.req.text();
    return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** `ctx.ParamsInt64`: 0 for anything that is not a plain integer. */
export function paramId(value: string | undefined): number {
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : 0;
}
