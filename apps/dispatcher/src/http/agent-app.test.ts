import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { warmWorld } from '../__fixtures__/warm-world.js';
import { createLogger } from '../logger.js';
import type { PollAnswer } from '../service/warm/pool.js';
import { createAgentApp } from './agent-app.js';
import { BucketMap, tokenBucket } from './rate-limit.js';

const CALLER = { name: 'autoscaler', scopes: '*' as const };
const log = createLogger('silent');

/** A poll as it arrives from `address` (what @hono/node-server passes as env). */
function pollFrom(app: ReturnType<typeof createAgentApp>, address: string, vmId: string, secret: string) {
  return app.request(
    '/v1/agent/poll',
    {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vm_id: vmId }),
    },
    { incoming: { socket: { remoteAddress: address }, complete: true } },
  );
}

describe('junk polls and a real warm VM', () => {
  let w: Awaited<ReturnType<typeof warmWorld>>;
  beforeEach(async () => {
    w = await warmWorld(1);
  });
  afterEach(async () => {
    w.expireHolds();
    await w.close();
  });

  it('wrong secrets at a high rate (for its id and invented ones) do not keep the VM from its job', async () => {
    // Tight limits, and a clock that never moves: no bucket refills during the flood.
    const agent = createAgentApp({
      service: w.service,
      log,
      now: () => 0,
      maxPollsPerSecond: 2,
      maxPollsPerSource: 2,
    });
    await w.service.refillWarm();
    await w.service.drain();
    const { vmId, secret } = w.credentialsOf(w.warmInstances()[0]?.id ?? '');

    const junk: number[] = [];
    for (let i = 0; i < 600; i++) {
      const target = i % 2 === 0 ? vmId : `w${String(i).padStart(12, 'a').replace(/\d/g, 'b')}`;
      const res = await pollFrom(
        agent,
        `198.51.100.${i % 3}`,
        target,
        `wrong-secret-${String(i).padStart(20, '0')}`,
      );
      junk.push(res.status);
    }
    expect(new Set(junk)).toEqual(new Set([401, 429]));
    expect((await w.store.getWarm(vmId))?.state).toBe('booting');

    const held = pollFrom(agent, '10.0.0.7', vmId, secret);
    for (let i = 0; i < 50 && (await w.store.getWarm(vmId))?.state !== 'idle'; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const { record } = await w.service.dispatch(w.request(w.job()), CALLER);
    await w.service.drain();

    const answer = await held;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { handle: string }).handle).toBe(record.handle);
  });

  it('a wrong secret, an unknown VM and a used secret answer exactly alike', async () => {
    await w.service.refillWarm();
    await w.service.drain();
    const { vmId, secret } = w.credentialsOf(w.warmInstances()[0]?.id ?? '');
    const answer = async (res: Response) => ({
      status: res.status,
      headers: [...res.headers.entries()],
      body: await res.text(),
    });

    const wrong = await answer(await w.poll(vmId, `${secret.slice(0, -4)}AAAA`));
    const unknown = await answer(await w.poll('waaaaaaaaaaaa', secret));

    expect(wrong).toEqual({
      status: 401,
      headers: [['content-type', 'application/json']],
      body: '{"error":{"code":"unauthorized"}}',
    });
    expect(unknown).toEqual(wrong);
  });
});

describe('agent endpoint limits (stubbed poll answers)', () => {
  function service(answer: PollAnswer) {
    const polls: string[] = [];
    return {
      polls,
      agentPoll: async (vmId: string, _secret: string, _signal?: AbortSignal, admit?: () => boolean) => {
        polls.push(vmId);
        if (answer.status === 401 || !admit || admit()) return answer;
        return { status: 429 } as const;
      },
    };
  }
  const SECRET = 's'.repeat(43);

  it('spends a source bucket before the secret check: one source is cut off, another is not', async () => {
    const s = service({ status: 401 });
    const agent = createAgentApp({
      service: s,
      log,
      now: () => 0,
      maxPollsPerSecond: 1,
      maxPollsPerSource: 3,
    });

    const flood = [];
    for (let i = 0; i < 10; i++)
      flood.push((await pollFrom(agent, '198.51.100.1', 'waaaaaaaaaaaa', SECRET)).status);
    const other = (await pollFrom(agent, '198.51.100.2', 'waaaaaaaaaaaa', SECRET)).status;

    expect(flood).toEqual([401, 401, 401, 401, 401, 401, 429, 429, 429, 429]);
    expect(s.polls).toHaveLength(7);
    expect(other).toBe(401);
  });

  it('spends the shared bucket only for polls whose secret matched', async () => {
    const s = service({ status: 204 });
    const agent = createAgentApp({
      service: s,
      log,
      now: () => 0,
      maxPollsPerSecond: 2,
      maxPollsPerSource: 100,
    });

    const statuses = [];
    for (const vm of ['waaaaaaaaaaaa', 'wbbbbbbbbbbbb', 'wcccccccccccc']) {
      statuses.push((await pollFrom(agent, `10.0.0.${statuses.length}`, vm, SECRET)).status);
    }

    expect(statuses).toEqual([204, 204, 429]);
  });

  it('counts polls behind a trusted proxy by the address it forwarded', async () => {
    const s = service({ status: 401 });
    const agent = createAgentApp({
      service: s,
      log,
      now: () => 0,
      maxPollsPerSecond: 1,
      maxPollsPerSource: 1,
      trustedProxies: ['127.0.0.1'],
    });
    const via = (forwarded: string) =>
      agent.request(
        '/v1/agent/poll',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${SECRET}`, 'x-forwarded-for': forwarded },
          body: JSON.stringify({ vm_id: 'waaaaaaaaaaaa' }),
        },
        { incoming: { socket: { remoteAddress: '::ffff:127.0.0.1' }, complete: true } },
      );

    const first = [];
    for (let i = 0; i < 3; i++) first.push((await via('1.1.1.1, 203.0.113.5')).status);
    // The client may invent the earlier entries; only the proxy's own (last) one counts.
    const second = (await via('203.0.113.5, 203.0.113.6')).status;

    expect(first).toEqual([401, 401, 429]);
    expect(second).toBe(401);
  });
});

describe('BucketMap', () => {
  it('holds at most its capacity, evicting the least recently used key', () => {
    const map = new BucketMap(3, () => tokenBucket(1, 0, () => 0));
    expect(map.take('a')).toBe(true);
    expect(map.take('b')).toBe(true);
    expect(map.take('c')).toBe(true);
    expect(map.take('a')).toBe(false); // a is now the most recently used

    for (let i = 0; i < 10_000; i++) map.take(`junk-${i}`);

    expect(map.size).toBe(3);
  });

  it('a flood of new keys does not reset a busy key whose bucket is in use', () => {
    const map = new BucketMap(100, () => tokenBucket(1, 0, () => 0));
    map.take('attacker');
    for (let i = 0; i < 50; i++) {
      map.take(`fresh-${i}`);
      expect(map.take('attacker')).toBe(false);
    }
  });
});
