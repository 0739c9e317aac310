import { z } from 'zod';

/** Forgejo's error body: `{message, url}`; 404 adds `errors`. */
const ApiErrorBody = z.object({
  message: z.string(),
  errors: z.array(z.string()).nullish(),
});

const MAX_EXCERPT = 200;

/**
 * A short, single-line description of an error response body. Understands Forgejo's JSON and
 * degrades gracefully for proxies: an HTML page gives its <title>, other text a trimmed excerpt.
 */
export function describeErrorBody(text: string, contentType: string | undefined): string {
  const trimmed = text.trim();
  if (trimmed === '') return '(empty body)';
  if (contentType?.includes('json') || trimmed.startsWith('{')) {
    const parsed = ApiErrorBody.safeParse(tryJson(trimmed));
    if (parsed.success) {
      const { message, errors } = parsed.data;
      const extra = (errors ?? []).filter((e) => e !== '' && e !== message);
      const base = message === '' ? '(no message)' : message;
      return oneLine(extra.length > 0 ? `${base} (${extra.join('; ')})` : base);
    }
  }
  if (contentType?.includes('html') || /^<(!doctype|html)/i.test(trimmed)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
    return title ? `HTML page "${oneLine(title)}"` : 'HTML page';
  }
  return oneLine(trimmed);
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_EXCERPT ? `${flat.slice(0, MAX_EXCERPT)}…` : flat;
}
