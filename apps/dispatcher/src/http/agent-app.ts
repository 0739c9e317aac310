import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { DispatchService } from '../service/service.js';
import { AgentPoll } from './schemas.js';

/** An agent poll body is one short id; anything bigger is not an agent. */
export const MAX_AGENT_BODY_BYTES = 1024;

export interface AgentAppDeps {
  readonly service: Pick<DispatchService, 'agentPoll'>;
  readonly log: Logger;
  readonly now: () => number;
  /** Polls per second accepted from all VMs together. */
  readonly maxPollsPerSecond: number;
}

/**
 * The endpoint warm VMs' agents long-poll for their job, on a listener of its own: it knows no
 * dispatch-API token and answers nothing but `POST /v1/agent/poll`. Each VM proves itself with its
 * own one-time secret; bad input is refused before the store is touched.
 */
export function createAgentApp(deps: AgentAppDeps): Hono {
  const app = new Hono();
  const global = tokenBucket(deps.maxPollsPerSecond, deps.maxPollsPerSecond, deps.now);
  const perVm = new Map<string, ReturnType<typeof tokenBucket>>();

  app.post(
    '/v1/agent/poll',
    bodyLimit({ maxSize: MAX_AGENT_BODY_BYTES, onError: (c) => c.json(error('payload_too_large'), 413) }),
    async (c) => {
      if (!global.take()) return limited(c);
      const secret = /^Bearer ([A-Za-z0-9_-]{20,128})$/.exec(c.req.header('authorization') ?? '')?.[1];
      if (secret === undefined) return c.json(error('unauthorized'), 401);
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return c.json(error('bad_request'), 400);
      }
      const parsed = AgentPoll.safeParse(body);
      if (!parsed.success) return c.json(error('bad_request'), 400);
      const vmId = parsed.data.vm_id;
      let bucket = perVm.get(vmId);
      if (!bucket) {
        if (perVm.size > 10_000) perVm.clear(); // bounded: ids are cheap to invent
        bucket = tokenBucket(5, 1, deps.now);
        perVm.set(vmId, bucket);
      }
      if (!bucket.take()) return limited(c);
      const answer = await deps.service.agentPoll(vmId, secret, c.req.raw.signal);
      if (answer.status === 200) {
        deps.log.info({ warmId: vmId }, 'warm vm took its job');
        return c.json(answer.assignment, 200);
      }
      if (answer.status === 204) return c.body(null, 204);
      deps.log.warn({ warmId: vmId, status: answer.status }, 'agent poll refused');
      return c.json(
        error(answer.status === 401 ? 'unauthorized' : answer.status === 404 ? 'not_found' : 'gone'),
        answer.status,
      );
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

function limited(c: { header: (k: string, v: string) => void; json: (b: unknown, s: 429) => Response }) {
  c.header('Retry-After', '1');
  return c.json(error('rate_limited'), 429);
}

/** `burst` tokens, refilled `perSecond`. */
function tokenBucket(burst: number, perSecond: number, now: () => number) {
  let tokens = burst;
  let at = now();
  return {
    take(): boolean {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - at) / 1000) * perSecond);
      at = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
