import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';

export function incomingOf(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  return (env as { incoming?: IncomingMessage }).incoming;
}

/**
 * An answer given before the request body has fully arrived (413 from the body limit, 401 on a
 * big body, 429) is sent with `Connection: close`, so the client knows to open a new connection.
 *
 * Without it, @hono/node-server answers `keep-alive` and then drains the unread body for at most
 * 500 ms / 64 MiB before it drops the socket silently: a slow or big upload leaves the client
 * waiting on a connection the next request is never answered on. A body that already arrived
 * whole is drained by the server at once, so that connection stays open and reusable.
 *
 * Outside a Node server (`app.request()` in tests) there is no socket and nothing to do.
 */
export function closeUnreadBody(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const incoming = incomingOf(c.env);
    if (incoming !== undefined && !incoming.complete) c.res.headers.set('Connection', 'close');
  };
}
