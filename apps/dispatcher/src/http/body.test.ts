/**
 * `limitBody` and `bodyText` over a real listener on 127.0.0.1 (the socket path) and through
 * `app.request()` (hono's path): the same limits, the same text, whichever path a body takes.
 */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyText, limitBody } from './body.js';

const MAX = 64;

function app(): Hono {
  const hono = new Hono();
  hono.post('/echo', limitBody({ maxSize: MAX, onError: (c) => c.text('too large', 413) }), async (c) => {
    const first = await bodyText(c);
    const second = await bodyText(c);
    return c.json({ first, same: first === second });
  });
  hono.get('/echo', limitBody({ maxSize: MAX, onError: (c) => c.text('too large', 413) }), async (c) =>
    c.json({ first: await bodyText(c) }),
  );
  // A handler that never reads its body still has the limit applied before it.
  hono.post('/ignore', limitBody({ maxSize: MAX, onError: (c) => c.text('too large', 413) }), (c) =>
    c.text('ok'),
  );
  return hono;
}

const servers: { close: () => void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function listening(): Promise<string> {
  const server = serve({ fetch: app().fetch, hostname: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A body sent in chunks: no Content-Length, Transfer-Encoding: chunked. */
function chunked(text: string): Readable {
  return Readable.from((text.match(/.{1,10}/gsu) ?? []).map((part) => Buffer.from(part)));
}

describe('limitBody and bodyText', () => {
  const cases = [
    ['ascii', '{"a":1}'],
    ['utf-8 with a leading BOM (dropped, as Request.text() does)', '\uFEFF{"ä":"ö"}'],
    ['empty', ''],
  ] as const;

  it.each(cases)(
    'reads a %s body the same from the socket, chunked, and without a socket',
    async (_, text) => {
      const url = await listening();
      const expected = { first: text.replace(/^\uFEFF/u, ''), same: true };

      const sized = await request(`${url}/echo`, { method: 'POST', body: text });
      const streamed = await request(`${url}/echo`, { method: 'POST', body: chunked(text) });
      const inMemory = await app().request('/echo', { method: 'POST', body: text });

      expect(await sized.body.json()).toEqual(expected);
      expect(await streamed.body.json()).toEqual(expected);
      expect(await inMemory.json()).toEqual(expected);
    },
  );

  it.each(['/echo', '/ignore'])('refuses a body over the limit on %s, sized or chunked', async (path) => {
    const url = await listening();
    const big = 'x'.repeat(MAX + 1);

    const sized = await request(`${url}${path}`, { method: 'POST', body: big });
    const streamed = await request(`${url}${path}`, { method: 'POST', body: chunked(big) });
    const inMemory = await app().request(path, { method: 'POST', body: big });

    expect([sized.statusCode, streamed.statusCode, inMemory.status]).toEqual([413, 413, 413]);
    await Promise.all([sized.body.dump(), streamed.body.dump()]);
  });

  it('reads no body from a request without one (a GET on the socket and without)', async () => {
    const url = await listening();

    const onSocket = await request(`${url}/echo`);
    const inMemory = await app().request('/echo');

    expect(await onSocket.body.json()).toEqual({ first: '' });
    expect(await inMemory.json()).toEqual({ first: '' });
  });

  it('takes a body of exactly the limit', async () => {
    const url = await listening();
    const text = 'y'.repeat(MAX);

    const sized = await request(`${url}/echo`, { method: 'POST', body: text });

    expect(await sized.body.json()).toEqual({ first: text, same: true });
  });
});
