import { z } from 'zod';

/** An http(s) URL without credentials in it (those belong in `*_file` options); `what` names it in errors. */
export function HttpUrl(what: string) {
  return z.string({ error: `expected ${what} as an http(s) URL` }).superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `invalid URL "${text}" (expected ${what}, e.g. https://host:port)`,
      });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `URL "${text}" must use http or https` });
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'URL must not contain credentials; use the *_file options' });
    }
  });
}
