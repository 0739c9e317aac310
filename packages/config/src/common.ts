// Shared with the providers' schemas, so it lives in the runtime kit; re-exported for config's own use.
import { HttpUrl } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';

export { HttpUrl };

/**
 * A Forgejo server's base URL. The clients append `/api/v1` themselves, so a URL that already ends
 * with it (a common copy from the API docs) is refused here, naming the key, rather than at start.
 */
export function ForgejoBaseUrl(what: string) {
  return HttpUrl(what).superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return; // HttpUrl has said so
    }
    if (/\/api\/v1\/?$/.test(url.pathname)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" ends with /api/v1: give the server's base URL (e.g. ${url.origin}${url.pathname.replace(/\/api\/v1\/?$/, '') || '/'}); /api/v1 is added by forgejo-fleet`,
      });
    }
    if (url.search !== '' || url.hash !== '') {
      ctx.addIssue({ code: 'custom', message: `"${text}" must not have a query or a fragment` });
    }
  });
}

/** A stable identifier: providers, routes, clients, fleet id. Lowercase so it fits every cloud's tag rules. */
export const Name = z
  .string({ error: 'expected a name' })
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/,
    'expected lowercase letters, digits and "-", at most 32 characters',
  );

export const Listen = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535),
});

export const Log = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .default({ level: 'info' });

/** A Forgejo runner label name as it appears in `runs-on` (the part before any `:`). */
export const LabelName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, 'expected a label name (letters, digits, ".", "_", "-")');

/** A runner label as forgejo-runner takes it: `name:docker://image`, `name:host` or `name:lxc://image`. */
export const RunnerLabel = z.string().superRefine((text, ctx) => {
  const match = /^([A-Za-z0-9_.-]+):(docker|lxc|host)(?::(.+))?$/.exec(text);
  if (!match) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid runner label "${text}" (expected name:host or name:docker://image; a bare name means docker)`,
    });
    return;
  }
  const [, , scheme, arg] = match;
  if (scheme === 'host' && arg !== undefined) {
    ctx.addIssue({ code: 'custom', message: `runner label "${text}": the host scheme takes no argument` });
  }
  if (scheme !== 'host' && (arg === undefined || !arg.startsWith('//') || /\s/.test(arg))) {
    ctx.addIssue({ code: 'custom', message: `runner label "${text}": expected ${scheme}://image` });
  }
});

export function runnerLabelName(label: string): string {
  const colon = label.indexOf(':');
  return colon < 0 ? label : label.slice(0, colon);
}
