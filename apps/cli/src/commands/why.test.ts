import { describe, expect, it } from 'vitest';
import { EXIT, UsageError } from '../io.js';
import { type Fetch, why } from './why.js';

function io(fetch: Fetch, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      env,
      readFile: (path: string) => (path === '/run/creds/token' ? 'tok-123\n' : ''),
      fetch,
    },
  };
}

describe('forgejo-fleet why', () => {
  it('asks the dispatcher with the bearer token from the file and prints its text', async () => {
    const seen: { url: string; auth: string | undefined }[] = [];
    const t = io(async (url, init) => {
      seen.push({ url, auth: init.headers.authorization });
      return new Response('dispatch d1 …\nnext: waiting\n', { status: 200 });
    });

    const code = await why(
      ['abc-123', '--url', 'http://127.0.0.1:9000/', '--token-file', '/run/creds/token'],
      t.io,
    );

    expect(code).toBe(EXIT.ok);
    expect(seen).toEqual([
      { url: 'http://127.0.0.1:9000/v1/dispatches/abc-123/why', auth: 'Bearer tok-123' },
    ]);
    expect(t.out.join('')).toBe('dispatch d1 …\nnext: waiting\n');
  });

  it('takes the URL and token from the environment', async () => {
    const seen: string[] = [];
    const t = io(
      async (url) => {
        seen.push(url);
        return new Response('ok', { status: 200 });
      },
      { FORGEJO_FLEET_URL: 'http://127.0.0.1:8181', FORGEJO_FLEET_TOKEN: 'from-env' },
    );
    expect(await why(['d1'], t.io)).toBe(EXIT.ok);
    expect(seen).toEqual(['http://127.0.0.1:8181/v1/dispatches/d1/why']);
  });

  it('reports an API error by its message and exits 1', async () => {
    const t = io(
      async () =>
        new Response('{"error":{"code":"unauthorized","message":"unknown bearer token"}}', { status: 401 }),
      { FORGEJO_FLEET_TOKEN: 'bad' },
    );
    expect(await why(['d1'], t.io)).toBe(EXIT.failure);
    expect(t.err.join('')).toContain('answered 401: unknown bearer token');
  });

  it('reports an unreachable dispatcher and exits 1', async () => {
    const t = io(
      async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:8080');
      },
      { FORGEJO_FLEET_TOKEN: 't' },
    );
    expect(await why(['d1'], t.io)).toBe(EXIT.failure);
    expect(t.err.join('')).toContain(
      'no usable answer from the dispatcher at http://127.0.0.1:8080: no answer after 1 attempt(s): connect ECONNREFUSED',
    );
  });

  it.each([[[]], [['a', 'b']], [['d1', '--nope']]])('is a usage error for %j', async (argv) => {
    const t = io(async () => new Response(''), { FORGEJO_FLEET_TOKEN: 't' });
    await expect(why(argv, t.io)).rejects.toThrow(UsageError);
  });

  it.each([['ftp://127.0.0.1'], ['not a url']])('refuses --url %s naming the flag', async (url) => {
    const t = io(async () => new Response(''), { FORGEJO_FLEET_TOKEN: 't' });
    await expect(why(['d1', '--url', url], t.io)).rejects.toThrow(/--url .*expected an http\(s\) URL/);
  });

  it('needs a token', async () => {
    const t = io(async () => new Response(''));
    await expect(why(['d1'], t.io)).rejects.toThrow(/no client token/);
  });
});
