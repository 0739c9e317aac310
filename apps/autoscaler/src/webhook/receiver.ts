import type { Clock } from '@forgejo-fleet/runtime';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { ExpiringSet } from '../expiring-set.js';
import type { DeliveryResult, Metrics } from '../metrics.js';
import { type DeliveryKind, DeliveryPayload, deliveryKind, deliveryRepo } from './payload.js';
import { signatureValid } from './signature.js';

/** Delivery ids remembered for dedup; Forgejo never redelivers an old id after this long. */
export const DELIVERY_MEMORY = { ttlMs: 60 * 60_000, max: 50_000 } as const;

export interface WebhookSignal {
  readonly event: string;
  readonly kind: DeliveryKind;
  readonly delivery: string;
  readonly repo: { readonly owner: string; readonly name: string };
}

export interface ReceiverDeps {
  readonly secret: string;
  readonly maxBody: number;
  /** Path part of `webhook.public_url`; deliveries are accepted there. */
  readonly path: string;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Acts on a verified, new delivery; returns false when no configured scope contains its repo. */
  readonly onSignal: (signal: WebhookSignal) => boolean;
}

class Rejection extends Error {
  constructor(
    readonly status: 400 | 401 | 413,
    readonly result: DeliveryResult,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The webhook listener's app. Order matters: size, then signature over the raw bytes, and only then
 * parsing, so unsigned input is never parsed. It answers at once; polling does the real work.
 */
export function createReceiverApp(deps: ReceiverDeps): Hono {
  const app = new Hono();
  const deliveries = new ExpiringSet<true>({ max: DELIVERY_MEMORY.max, now: deps.clock.now });

  function count(result: DeliveryResult): void {
    deps.metrics.webhookDeliveries.inc({ result });
  }

  app.post(deps.path, async (c) => {
    const delivery = c.req.header('x-forgejo-delivery') ?? c.req.header('x-gitea-delivery') ?? '';
    const event = c.req.header('x-forgejo-event') ?? c.req.header('x-gitea-event') ?? '';
    const log = deps.log.child({ delivery: delivery.slice(0, 64), event: event.slice(0, 64) });
    try {
      const raw = await readLimited(c.req.raw, deps.maxBody);
      const signature = c.req.header('x-forgejo-signature') ?? '';
      if (signature === '') throw new Rejection(401, 'unsigned', 'no X-Forgejo-Signature');
      if (!signatureValid(deps.secret, raw, signature)) {
        throw new Rejection(401, 'bad_signature', 'signature does not match the body');
      }
      if (!/^[\w-]{1,100}$/.test(delivery)) throw new Rejection(400, 'malformed', 'bad X-Forgejo-Delivery');
      if (!/^[a-z_]{1,64}$/.test(event)) throw new Rejection(400, 'malformed', 'bad X-Forgejo-Event');
      if (deliveries.has(delivery)) {
        count('duplicate');
        log.debug('duplicate delivery ignored');
        return c.json({ status: 'duplicate' }, 200);
      }
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
      } catch {
        throw new Rejection(400, 'malformed', 'body is not JSON (only content type json is supported)');
      }
      const payload = DeliveryPayload.safeParse(json);
      if (!payload.success) throw new Rejection(400, 'malformed', 'payload has no usable repository');
      deliveries.set(delivery, DELIVERY_MEMORY.ttlMs, true);
      const repo = deliveryRepo(payload.data);
      const acted = repo !== undefined && deps.onSignal({ event, kind: deliveryKind(event), delivery, repo });
      count(acted ? 'accepted' : 'ignored');
      log.debug({ repo, acted }, 'delivery received');
      return c.json({ status: acted ? 'accepted' : 'ignored' }, 202);
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      count(error.result);
      // Why, never the body: it is unauthenticated input.
      log.warn({ result: error.result, reason: error.message }, 'webhook delivery rejected');
      return c.json({ error: { code: error.result, message: error.message } }, error.status);
    }
  });

  return app;
}

/** The body as bytes, refusing (without reading on) anything over `max`. */
async function readLimited(request: Request, max: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > max) throw new Rejection(413, 'oversize', `body over ${max} bytes`);
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new Rejection(413, 'oversize', `body over ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
