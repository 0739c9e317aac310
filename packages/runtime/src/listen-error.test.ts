import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ListenError, listenError } from './listen-error.js';

/** The error Node gives for a listen on `port` of 127.0.0.1 (a real socket, loopback only). */
function listenFailure(port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(undefined)));
  });
}

describe('listenError', () => {
  it('names the config key, the address and what to do when the port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;

    const error = listenError(await listenFailure(port), 'agent.listen', { host: '127.0.0.1', port });
    holder.close();

    expect(error).toBeInstanceOf(ListenError);
    expect(error).toMatchObject({ key: 'agent.listen', code: 'EADDRINUSE', port });
    expect(error.message).toBe(
      `agent.listen: cannot listen on 127.0.0.1:${port}: the address is in use (another process, or another listener of this config, holds it): change the port or stop the other one`,
    );
  });

  it.each([
    ['EACCES', /permission denied \(a port below 1024 needs privileges\)/],
    ['EADDRNOTAVAIL', /this machine has no such address/],
  ])('explains %s', (code, reason) => {
    const cause = Object.assign(new Error(`listen ${code}`), { code });

    expect(listenError(cause, 'listen', { host: '::1', port: 80 }).message).toMatch(
      new RegExp(`^listen: cannot listen on \\[::1\\]:80: ${reason.source}`),
    );
  });

  it("keeps any other error's own message", () => {
    expect(listenError(new Error('boom'), 'ops.listen', { host: '127.0.0.1', port: 1 }).message).toBe(
      'ops.listen: cannot listen on 127.0.0.1:1: boom',
    );
    expect(listenError('odd', 'ops.listen', { host: '127.0.0.1', port: 1 }).code).toBeUndefined();
  });
});
