import type { MiddlewareHandler } from 'hono';

/**
 * No script, no inline style, no frames, forms only to us: the page needs nothing else, so a
 * stray injection has nothing to run and nowhere to send data.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Security headers on every `/ui` answer, errors included. */
export function uiSecurityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('X-Content-Type-Options', 'nosniff');
    // Nothing leaves for other sites; not `no-referrer`, which makes Chromium send `Origin: null`
    // on our own form posts, and the origin check below needs the real one.
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
    // Pages show live, per-client data: never from a shared cache.
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  };
}

/**
 * Refuses a state-changing request from another origin when the browser says where it came from
 * (SameSite=Strict already keeps the cookie off it; this also covers the sign-in form itself).
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
