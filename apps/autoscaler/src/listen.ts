import type { AddressInfo } from 'node:net';
import { listenError } from '@forgejo-fleet/runtime';
import { serve } from '@hono/node-server';

export interface Listener {
  /** `http://host:port`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `fetch` on host:port (port 0 picks one); resolves once listening, or rejects with a
 * ListenError naming `key`, the config key of this listener.
 */
export async function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  at: { readonly host: string; readonly port: number },
  key: string,
): Promise<Listener> {
  const server = serve({ fetch, hostname: at.host, port: at.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error) => reject(listenError(error, key, at)));
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open until they time out.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      });
    },
  };
}
