/**
 * A webhook relay on 127.0.0.1 between the fake Forgejo and the autoscaler's receiver: Forgejo
 * delivers here (answered 200 at once), and each driver step forwards what arrived in a shuffled
 * order, dropping, duplicating and holding back some on a seeded schedule. The fake Forgejo alone
 * can drop and duplicate; reordering and late deliveries need a hop in between.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Random } from './random.js';

export interface RelayFaults {
  drop: number;
  duplicate: number;
  /** Held back to a later step (so it arrives after newer deliveries). */
  delay: number;
}

export const RELAY_FAULTS: RelayFaults = { drop: 0.1, duplicate: 0.15, delay: 0.15 };

interface Held {
  headers: Record<string, string>;
  body: string;
}

export async function startRelay(options: {
  random: Random;
  target: () => string | undefined;
  fault: (kind: string) => void;
}) {
  const { random } = options;
  let queue: Held[] = [];
  let faults: RelayFaults = { ...RELAY_FAULTS };
  let forwarded = 0;
  let refused = 0;
  const app = new Hono();
  app.post('*', async (c) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of c.req.raw.headers) {
      if (name.startsWith('x-') || name === 'content-type') headers[name] = value;
    }
    queue.push({ headers, body: await c.req.text() });
    return c.json({ ok: true });
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;

  async function send(held: Held, target: string): Promise<void> {
    try {
      const res = await fetch(target, { method: 'POST', headers: held.headers, body: held.body });
      await res.arrayBuffer();
      forwarded++;
    } catch {
      refused++; // the autoscaler is down (crashed): the delivery is lost, as with Forgejo
    }
  }

  return {
    url: `http://127.0.0.1:${port}/forgejo-webhook`,
    setFaults(next: RelayFaults): void {
      faults = { ...next };
    },
    stats: () => ({ forwarded, refused, held: queue.length }),
    /** Forwards this step's deliveries: shuffled, some dropped, some twice, some kept for later. */
    async flush(): Promise<void> {
      const now: Held[] = [];
      const later: Held[] = [];
      for (const held of queue) {
        if (random.chance(faults.drop)) {
          options.fault('webhook_drop');
          continue;
        }
        if (random.chance(faults.delay)) {
          options.fault('webhook_delay');
          later.push(held);
          continue;
        }
        now.push(held);
        if (random.chance(faults.duplicate)) {
          options.fault('webhook_duplicate');
          now.push(held);
        }
      }
      queue = later;
      for (let i = now.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [now[i], now[j]] = [now[j] as Held, now[i] as Held];
      }
      if (now.length > 1) options.fault('webhook_reorder');
      const target = options.target();
      if (target === undefined) {
        refused += now.length;
        return;
      }
      await Promise.all(now.map((held) => send(held, target)));
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}

export type Relay = Awaited<ReturnType<typeof startRelay>>;
