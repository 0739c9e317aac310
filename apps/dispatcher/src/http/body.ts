import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { incomingOf } from './connection.js';

/** Bodies whose size the limit settled from Content-Length alone: read them straight off the socket. */
const sizedBodies = new WeakMap<IncomingMessage, Promise<string> | null>();
const utf8 = new TextDecoder();

/**
 * hono's body limit, without building a web `Request` for every call on a Node socket: its own
 * check reads `c.req.raw.body`, which makes @hono/node-server construct the full Request, a body
 * stream and an AbortController (a tenth of a millisecond per dispatch, measured). A body with
 * Content-Length (and no Transfer-Encoding) is judged from that header, exactly as hono judges
 * it, and a request with neither header has no body to judge; chunked bodies, HTTP/2 and every
 * call without a socket (`app.request()`) go through hono's.
 */
export function limitBody(options: {
  maxSize: number;
  onError: (c: Context) => Response | Promise<Response>;
}): MiddlewareHandler {
  const fallback = bodyLimit(options);
  return async (c, next) => {
    const incoming = incomingOf(c.env);
    // Tests hand in a bare `{ incoming: { socket } }` as env: no headers, no socket body.
    const headers: IncomingMessage['headers'] | undefined = incoming?.headers;
    if (incoming === undefined || headers === undefined) return fallback(c, next);
    if (incoming.httpVersionMajor !== 1 || headers['transfer-encoding'] !== undefined) {
      return fallback(c, next);
    }
    const length = headers['content-length'];
    // HTTP/1.1 without Content-Length or Transfer-Encoding has no body (RFC 9112, 6.3): a GET.
    if (length === undefined) return next();
    if (Number.parseInt(length, 10) > options.maxSize) return options.onError(c);
    sizedBodies.set(incoming, null);
    await next();
  };
}

/**
 * The request body as text (UTF-8, a leading BOM dropped, as `Request.text()` does). Read from
 * the socket when `limitBody` sized it, else through hono. Reading twice gives the same text.
 */
export function bodyText(c: Context): Promise<string> {
  const incoming = incomingOf(c.env);
  if (incoming === undefined || !sizedBodies.has(incoming)) return c.req.text();
  let text = sizedBodies.get(incoming);
  if (!text) {
    text = readAll(incoming);
    sizedBodies.set(incoming, text);
  }
  return text;
}

async function readAll(incoming: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  // Node's parser stops at Content-Length, which limitBody already held to the limit.
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return utf8.decode(Buffer.concat(chunks));
}
