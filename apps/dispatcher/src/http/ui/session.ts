import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Caller } from '../../service/visibility.js';
import { type ApiClient, digest } from '../auth.js';

/** The cookie holding the signed-in client's API token (path `/ui`, HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'ff_ui_session';
/** A sign-in lasts a working day; the token itself never expires, so the cookie must. */
const SESSION_MAX_AGE_S = 12 * 60 * 60;

export interface Sessions {
  /** The client whose token the request's cookie holds, or undefined. */
  caller(c: Context): { caller: Caller; token: string } | undefined;
  /** Checks a presented token; the client it belongs to, or undefined. */
  clientFor(token: string): Caller | undefined;
  signIn(c: Context, token: string): void;
  signOut(c: Context): void;
  /** The CSRF token of a session: an HMAC of its cookie, so it needs no storage and dies with it. */
  csrfFor(token: string): string;
  csrfValid(token: string, presented: string): boolean;
}

export interface SessionOptions {
  readonly clients: readonly ApiClient[];
  /** Key of the CSRF HMAC (random per process: a restart only asks open forms to reload). */
  readonly csrfKey: Uint8Array;
  /**
   * Trust `X-Forwarded-Proto: https` from the proxy in front (set only when one is there: a
   * client could otherwise drop `Secure` by sending `http`; it cannot add a risk by sending `https`).
   */
  readonly trustForwardedProto: boolean;
}

export function createSessions(options: SessionOptions): Sessions {
  const known = options.clients.map((client) => ({ client, hash: digest(client.token) }));

  function clientFor(token: string): Caller | undefined {
    const presented = digest(token);
    let found: ApiClient | undefined;
    // Every entry compared, in constant time each, like the API's bearer check.
    for (const { client, hash } of known) if (timingSafeEqual(hash, presented)) found = client;
    return found && { name: found.name, scopes: found.scopes };
  }

  function secure(c: Context): boolean {
    if (new URL(c.req.url).protocol === 'https:') return true;
    return options.trustForwardedProto && c.req.header('x-forwarded-proto')?.trim().toLowerCase() === 'https';
  }

  function csrfFor(token: string): string {
    return createHmac('sha256', options.csrfKey).update(token).digest('base64url');
  }

  return {
    clientFor,
    caller(c) {
      const token = getCookie(c, SESSION_COOKIE);
      if (!token) return undefined;
      const caller = clientFor(token);
      return caller && { caller, token };
    },
    signIn(c, token) {
      setCookie(c, SESSION_COOKIE, token, {
        path: '/ui',
        httpOnly: true,
        sameSite: 'Strict',
        secure: secure(c),
        maxAge: SESSION_MAX_AGE_S,
      });
    },
    signOut(c) {
      deleteCookie(c, SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'Strict', secure: secure(c) });
    },
    csrfFor,
    csrfValid(token, presented) {
      const expected = digest(csrfFor(token));
      return timingSafeEqual(expected, digest(presented));
    },
  };
}
