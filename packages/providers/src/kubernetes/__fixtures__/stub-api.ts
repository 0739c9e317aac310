import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  /** The client certificate's CN, over TLS with client certificates requested. */
  readonly clientCn: string | undefined;
  readonly body: unknown;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  /** Sent as is (text/plain) instead of JSON, like the API priority filter's 429. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Handler = (request: Recorded) => Answer | undefined;

/**
 * A loopback HTTP stub of the API server for unit tests: answers come from a queue of handlers
 * (the first one that answers wins, and is used up when `once`), everything sent is recorded.
 * The conformance suite runs against the faithful fake in @forgejo-fleet/testkit instead.
 */
export interface StubApi {
  readonly url: string;
  readonly requests: Recorded[];
  on(handler: Handler, options?: { once?: boolean }): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

function clientCn(request: IncomingMessage): string | undefined {
  const socket = request.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

export function status(code: number, reason: string, message: string, details?: unknown): Answer {
  return {
    status: code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
      ...(details === undefined ? {} : { details }),
    },
  };
}

/** TLS material for an https stub; with `ca`, client certificates signed by it are asked for (not required). */
export interface StubTls {
  readonly key: string;
  readonly cert: string;
  readonly ca?: string;
}

export async function startStubApi(tls?: StubTls): Promise<StubApi> {
  const requests: Recorded[] = [];
  const handlers: { handler: Handler; once: boolean }[] = [];
  const listener: RequestListener = (request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://stub');
      const recorded: Recorded = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: request.headers.authorization,
        clientCn: clientCn(request),
        body: await readBody(request),
      };
      requests.push(recorded);
      let answer: Answer | undefined;
      for (const [index, entry] of handlers.entries()) {
        answer = entry.handler(recorded);
        if (answer === undefined) continue;
        if (entry.once) handlers.splice(index, 1);
        break;
      }
      answer ??= status(404, 'NotFound', `${recorded.path} not found`);
      const text = answer.text ?? JSON.stringify(answer.body ?? {});
      response.writeHead(answer.status, {
        'content-type': answer.text === undefined ? 'application/json' : 'text/plain',
        ...answer.headers,
      });
      response.end(text);
    })();
  };
  const server: Server =
    tls === undefined
      ? createServer(listener)
      : createTlsServer({ ...tls, requestCert: tls.ca !== undefined, rejectUnauthorized: false }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    on(handler, options = {}) {
      handlers.push({ handler, once: options.once === true });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
