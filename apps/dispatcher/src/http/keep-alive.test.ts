/**
 * A request refused before its body was read must not cost the client its next answer: the
 * connection either stays usable, or the refusal says `Connection: close` and the client opens a
 * new one. One real socket to a real listener (`serve()` of the app, on 127.0.0.1).
 */
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTOSCALER_TOKEN, dispatcherHarness } from '../__fixtures__/harness.js';
import { warmWorld } from '../__fixtures__/warm-world.js';

interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One client connection that reads HTTP/1.1 answers (with Content-Length) one after another. */
function openConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  let buffer = Buffer.alloc(0);
  let ended = false;
  let wake: () => void = () => undefined;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake();
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('close', () => {
    ended = true;
    wake();
  });
  socket.on('error', () => undefined); // writes after the server closed; the test reads answers

  async function next(): Promise<HttpAnswer> {
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length >= end + 4 + length) {
          const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
          buffer = buffer.subarray(end + 4 + length);
          return { status: Number(statusLine.split(' ')[1]), headers, body };
        }
      }
      if (ended) throw new Error(`connection closed without an answer (had ${buffer.length} bytes)`);
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }
  return { socket, next, closed };
}

async function listening(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

function post(
  path: string,
  headers: Record<string, string>,
  body: string,
  declared = Buffer.byteLength(body),
) {
  const head = Object.entries({ host: '127.0.0.1', 'content-type': 'application/json', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `POST ${path} HTTP/1.1\r\n${head}content-length: ${declared}\r\n\r\n${body}`;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Oversize, then two small bad bodies: three answers, on one connection or after a clean close. */
async function threeAnswers(
  port: number,
  request: (body: string, declared?: number) => string,
  oversize: { body: string; declared: number },
) {
  let connection = openConnection(port);
  connection.socket.write(request(oversize.body, oversize.declared));
  const first = await connection.next();
  const closedCleanly = first.headers.connection === 'close';
  if (closedCleanly) {
    await connection.closed;
    connection = openConnection(port);
  }
  const reused = connection.socket;
  connection.socket.write(request('{'));
  const second = await connection.next();
  connection.socket.write(request('{"x":'));
  const third = await connection.next();
  expect(connection.socket).toBe(reused);
  expect(second.headers.connection).toBe('keep-alive');
  connection.socket.destroy();
  return { statuses: [first.status, second.status, third.status], first, closedCleanly };
}

describe.each([
  ['the whole oversize body sent at once', 1],
  ['only the start of the oversize body sent (a slow upload)', 0.05],
])('one keep-alive connection, %s', (_name, fraction) => {
  it('API listener: 413, 400, 400', async () => {
    const h = await dispatcherHarness();
    const { server, port } = await listening(h.app);
    cleanups.push(async () => {
      server.close();
      await h.close();
    });
    const declared = 70_000;
    const request = (body: string, size?: number) =>
      post('/v1/dispatch', { authorization: `Bearer ${AUTOSCALER_TOKEN}` }, body, size);

    const { statuses, first, closedCleanly } = await threeAnswers(port, request, {
      body: 'x'.repeat(Math.floor(declared * fraction)),
      declared,
    });

    expect(statuses).toEqual([413, 400, 400]);
    expect(JSON.parse(first.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    // The body had not arrived whole: keeping the connection would mean a silent drop later.
    if (fraction < 1) expect(closedCleanly).toBe(true);
  });

  it('agent listener: 413, 400, 400', async () => {
    const w = await warmWorld(0);
    const { server, port } = await listening(w.agent);
    cleanups.push(async () => {
      server.close();
      await w.close();
    });
    const declared = 200_000;
    const request = (body: string, size?: number) =>
      post('/v1/agent/poll', { authorization: `Bearer ${'s'.repeat(43)}` }, body, size);

    const { statuses, closedCleanly } = await threeAnswers(port, request, {
      body: 'x'.repeat(Math.floor(declared * fraction)),
      declared,
    });

    expect(statuses).toEqual([413, 400, 400]);
    if (fraction < 1) expect(closedCleanly).toBe(true);
  });
});

it('a 401 on a big body the server never reads closes the connection cleanly too', async () => {
  const h = await dispatcherHarness();
  const { server, port } = await listening(h.app);
  cleanups.push(async () => {
    server.close();
    await h.close();
  });
  const connection = openConnection(port);
  connection.socket.write(post('/v1/dispatch', {}, 'x'.repeat(1000), 50_000));

  const answer = await connection.next();

  expect(answer.status).toBe(401);
  expect(answer.headers.connection).toBe('close');
  await connection.closed;
});
