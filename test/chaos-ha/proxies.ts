/**
 * The two kinds of HTTP middlemen of an HA chaos run, both on 127.0.0.1:
 * - the balancer in front of the dispatchers' APIs (what a load balancer with health checks does):
 *   round-robin over the replicas the run reports as up, the next one on a refused connection;
 * - one recorder per dispatcher in front of the Kubernetes API, so every call is known with the
 *   replica that made it (the report's "no delete by a fenced replica"), and a call can be held
 *   while that replica is frozen, to resume it in the middle of its work.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Upstream {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Sends one buffered request to `base` and buffers the answer; rejects on a connection error. */
function forward(base: string, incoming: IncomingMessage, body: Buffer): Promise<Upstream> {
  const target = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: target.host },
        // No keep-alive pool: a killed upstream must not leave a dead socket to be reused.
        agent: false,
      },
      (answer) => {
        readAll(answer).then(
          (data) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: data }),
          reject,
        );
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

function reply(res: ServerResponse, upstream: Upstream): Promise<void> {
  const headers = { ...upstream.headers };
  delete headers['transfer-encoding'];
  delete headers.connection;
  headers['content-length'] = String(upstream.body.length);
  return new Promise((resolve) => {
    res.writeHead(upstream.status, headers);
    res.end(upstream.body, () => resolve());
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface Balancer {
  readonly url: string;
  /** Requests answered, by backend URL. */
  readonly served: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Round-robin over `backends()` (the run's health check: replicas it knows are up). A refused or
 * reset connection moves on to the next; when none answers, 502 (the autoscaler retries).
 */
export async function startBalancer(backends: () => readonly string[]): Promise<Balancer> {
  let turn = 0;
  const served = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const body = await readAll(req);
    const live = backends();
    const first = turn++;
    for (let i = 0; i < live.length; i++) {
      const backend = live[(first + i) % live.length] ?? '';
      let upstream: Upstream;
      try {
        upstream = await forward(backend, req, body);
      } catch {
        continue;
      }
      served.set(backend, (served.get(backend) ?? 0) + 1);
      await reply(res, upstream);
      return;
    }
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'unavailable', message: 'no dispatcher answered' } }));
  });
  const url = await listen(server);
  return { url, served, close: () => closeServer(server) };
}

export interface RecordedCall {
  readonly replica: string;
  readonly method: string;
  readonly path: string;
  /** Date.now() when the request arrived. */
  readonly at: number;
  /** 0: the upstream did not answer. */
  readonly status: number;
}

export interface Hold {
  readonly match: (method: string, path: string) => boolean;
  /**
   * Called with the matching request in flight; `deliver` sends the upstream's answer to the
   * replica. The run freezes the replica, waits past its lease, delivers, then resumes it.
   */
  readonly whileHeld: (deliver: () => Promise<void>) => Promise<void>;
}

export interface Recorder {
  readonly url: string;
  /** Holds the next matching request (one). */
  holdNext(hold: Hold): void;
  close(): Promise<void>;
}

/** A recording pass-through to `upstream` for one replica's calls. */
export async function startRecorder(
  replica: string,
  upstream: string,
  calls: RecordedCall[],
): Promise<Recorder> {
  let pending: Hold | undefined;
  const server = createServer(async (req, res) => {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readAll(req);
    let answer: Upstream;
    try {
      answer = await forward(upstream, req, body);
    } catch {
      calls.push({ replica, method, path, at, status: 0 });
      res.destroy();
      return;
    }
    calls.push({ replica, method, path, at, status: answer.status });
    const hold = pending?.match(method, path) ? pending : undefined;
    if (hold === undefined) {
      await reply(res, answer);
      return;
    }
    pending = undefined;
    await hold.whileHeld(() => reply(res, answer));
  });
  const url = await listen(server);
  return {
    url,
    holdNext(hold) {
      pending = hold;
    },
    close: () => closeServer(server),
  };
}
