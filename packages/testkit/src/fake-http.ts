import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeAnswer } from './fake-answer.js';

/** What a fake API decided for one request, before it goes on the wire. */
export interface WireAnswer {
  readonly status: number;
  /** Sent as JSON (`{}` when absent), unless `text` is set. */
  readonly body?: unknown;
  /** Sent as `text/plain` instead of JSON (the Kubernetes request filters' 429). */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Destroy the connection instead of answering. */
  readonly drop?: boolean;
}

/** One request a fake saw, for tests: 0 as the status when the connection was dropped. */
export interface FakeCall {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** Virtual time of the request. */
  readonly at: number;
}

/**
 * The wire side of the fake cloud APIs (Hetzner, Kubernetes): reads the whole body, asks `answer`,
 * records the call, then drops the connection or writes the answer with its length, and reports
 * what went on the wire to the spec checks' `onAnswer`.
 */
export function fakeHttpHandler(params: {
  readonly now: () => number;
  readonly answer: (
    method: string,
    path: string,
    query: URLSearchParams,
    authorization: string | undefined,
    text: string,
  ) => WireAnswer;
  /** Runs after `answer`, before the call is recorded (the Kubernetes fake settles what came due). */
  readonly afterAnswer?: () => void;
  readonly calls: FakeCall[];
  readonly onAnswer?: ((answer: FakeAnswer) => void) | undefined;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { now, answer, afterAnswer, calls, onAnswer } = params;
  return function handle(req, res) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const at = now();
      const result = answer(
        method,
        url.pathname,
        url.searchParams,
        req.headers.authorization,
        Buffer.concat(chunks).toString('utf8'),
      );
      afterAnswer?.();
      calls.push({
        method,
        path: url.pathname,
        query: url.search,
        status: result.drop ? 0 : result.status,
        at,
      });
      if (result.drop) {
        req.socket.destroy();
        return;
      }
      const isText = result.text !== undefined;
      const body = isText ? (result.text ?? '') : JSON.stringify(result.body ?? {});
      const contentType = isText ? 'text/plain; charset=utf-8' : 'application/json';
      res.writeHead(result.status, {
        ...result.headers,
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(body),
        ...(isText ? { 'X-Content-Type-Options': 'nosniff' } : {}),
      });
      res.end(body);
      onAnswer?.({ method, path: url.pathname, query: url.search, status: result.status, contentType, body });
    });
  };
}
