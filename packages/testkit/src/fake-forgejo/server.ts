import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { buildFakeForgejo, type FakeForgejo } from './app.js';
import type { FakeForgejoOptions } from './types.js';

/** A fake Forgejo listening on 127.0.0.1 with a random port. */
export interface RunningFakeForgejo extends FakeForgejo {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  /** Releases hanging requests, aborts deliveries in flight, drops connections and stops listening. */
  close(): Promise<void>;
}

export async function startFakeForgejo(opts: FakeForgejoOptions = {}): Promise<RunningFakeForgejo> {
  const { fake, internals } = buildFakeForgejo(opts);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: fake.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  internals.state.baseUrl = url;
  let closed: Promise<void> | undefined;
  return Object.assign(fake, {
    url,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        internals.faults.releaseAll();
        internals.deliverer.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      return closed;
    },
  });
}
