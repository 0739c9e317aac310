import type { IncomingMessage } from 'node:http';
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { DispatchService } from '../service/service.js';
import { bodyText, limitBody } from './body.js';
import { closeUnreadBody } from './connection.js';
import { BucketMap, tokenBucket } from './rate-limit.js';
import { AgentPoll } from './schemas.js';

/** An agent poll body is one short id; anything bigger is not an agent. */
export const MAX_AGENT_BODY_BYTES = 1024;
/** Distinct sources and VMs whose buckets are remembered (least recently used evicted first). */
export const MAX_TRACKED = 10_000;

export interface AgentAppDeps {
  readonly service: Pick<DispatchService, 'agentPoll'>;
  readonly log: Logger;
  readonly now: () => number;
  /** Polls per second accepted from all VMs together, counted only for polls with a right secret. */
  readonly maxPollsPerSecond: number;
  /** Polls per second from one source address, counted before the secret check (burst: twice). */
  readonly maxPollsPerSource?: number;
  /** Peers whose last `X-Forwarded-For` address is the source (a TLS proxy in front). */
  readonly trustedProxies?: readonly string[];
  /** Sources and VMs remembered at most (default MAX_TRACKED). */
  readonly maxTracked?: number;
}

/**
 * The endpoint warm VMs' agents long-poll for their job, on a listener of its own: it knows no
 * dispatch-API token and answers nothing but `POST /v1/agent/poll`.
 *
 * Order, so junk cannot starve a real VM: body limit → parse → the source's bucket → the VM's
 * secret (in the service) → the VM's own bucket and the shared bucket, spent only by polls that
 * proved their secret. A wrong secret, an unknown VM and a used secret answer the same 401, after
 * the same store lookup and hash, so the answer says nothing about which VMs exist.
 */
export function createAgentApp(deps: AgentAppDeps): Hono {
  const app = new Hono();
  const capacity = deps.maxTracked ?? MAX_TRACKED;
  const perSource = deps.maxPollsPerSource ?? 20;
  const global = tokenBucket(deps.maxPollsPerSecond, deps.maxPollsPerSecond, deps.now);
  const sources = new BucketMap(capacity, () => tokenBucket(2 * perSource, perSource, deps.now));
  const vms = new BucketMap(capacity, () => tokenBucket(5, 1, deps.now));
  const proxies = new Set((deps.trustedProxies ?? []).map(plainAddress));

  app.use(closeUnreadBody());
  app.post(
    '/v1/agent/poll',
    limitBody({ maxSize: MAX_AGENT_BODY_BYTES, onError: (c) => c.json(error('payload_too_large'), 413) }),
    async (c) => {
      const secret = /^Bearer ([A-Za-z0-9_-]{20,128})$/.exec(c.req.header('authorization') ?? '')?.[1];
      if (secret === undefined) return c.json(error('unauthorized'), 401);
      let body: unknown;
      try {
        body = JSON.parse(await bodyText(c));
      } catch {
        return c.json(error('bad_request'), 400);
      }
      const parsed = AgentPoll.safeParse(body);
      if (!parsed.success) return c.json(error('bad_request'), 400);
      if (!sources.take(sourceOf(c, proxies))) return limited(c);

      const vmId = parsed.data.vm_id;
      // Spent only once the secret matched: a VM's bucket and the shared one are out of junk's reach.
      const admit = () => vms.take(vmId) && global.take();
      const answer = await deps.service.agentPoll(vmId, secret, c.req.raw.signal, admit);
      if (answer.status === 200) {
        deps.log.info({ warmId: vmId }, 'warm vm took its job');
        return c.json(answer.assignment, 200);
      }
      if (answer.status === 204) return c.body(null, 204);
      if (answer.status === 429) return limited(c);
      deps.log.warn({ warmId: vmId, status: answer.status }, 'agent poll refused');
      return c.json(error(answer.status === 401 ? 'unauthorized' : 'gone'), answer.status);
    },
  );
  app.notFound((c) => c.json(error('not_found'), 404));
  app.onError((err, c) => {
    deps.log.error({ err: err.message }, 'agent endpoint error');
    return c.json(error('internal'), 500);
  });
  return app;
}

function error(code: string) {
  return { error: { code } };
}

function limited(c: Context) {
  c.header('Retry-After', '1');
  return c.json(error('rate_limited'), 429);
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are one address. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The poll's source address: the peer, or behind a trusted proxy the last X-Forwarded-For entry
 * (the one that proxy added; earlier ones are the client's to invent). Without a socket (tests
 * calling `app.request()`) every poll comes from "local".
 */
function sourceOf(c: Context, proxies: ReadonlySet<string>): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const peer = plainAddress(incoming?.socket.remoteAddress ?? 'local');
  if (!proxies.has(peer)) return peer;
  const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
  return forwarded ? plainAddress(forwarded) : peer;
}
