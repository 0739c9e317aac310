import { createDispatchApiClient } from '@forgejo-fleet/dispatch-api';
import { describe, expect, it } from 'vitest';
import { afterForTime } from './decision-search.js';

const START = Date.parse('2026-11-23T00:00:00Z');

/** A decision log of `count` decisions, seq 1…count, one second apart, only every `stride`-th visible. */
function logApi(count: number, stride = 1) {
  let requests = 0;
  const api = createDispatchApiClient({
    url: 'http://127.0.0.1:1',
    token: 't',
    timeoutMs: 1_000,
    concurrency: 1,
    retry: { attempts: 1 },
    fetch: async (url) => {
      requests++;
      const query = new URL(url).searchParams;
      let seq = Number(query.get('after')) + 1;
      while (seq <= count && seq % stride !== 0) seq++;
      const items =
        seq > count
          ? []
          : [
              {
                seq,
                at: new Date(START + seq * 1_000).toISOString(),
                kind: 'create',
                reason: 'r',
                dispatch_id: null,
                route: null,
                scope: null,
                provider: null,
                choice: null,
                attempt: null,
                error_class: null,
                cost: null,
              },
            ];
      return new Response(JSON.stringify({ items }), { status: 200 });
    },
  });
  return { api, requests: () => requests };
}

describe('afterForTime', () => {
  it.each([
    // [decisions, visible every n-th, since (seconds after START), expected after]
    [100_000, 1, 60_000, 59_999],
    [100_000, 1, 1, 0],
    [100_000, 1, 200_000, 100_000],
    // Visible: 49994 (older), then 50001 (the first at or after): the smallest cursor past the older one.
    [100_000, 7, 50_000, 49_994],
    [0, 1, 10, 0],
  ])(
    'finds the cursor in a log of %i (every %i-th visible) since +%is',
    async (count, stride, since, after) => {
      const log = logApi(count, stride);

      const found = await afterForTime(log.api, START + since * 1_000);

      expect(found).toEqual({ ok: true, after });
      // Bounded: a gallop and a bisection over the sequence numbers, never a walk through the log.
      expect(log.requests()).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(count + 2)) + 2);
    },
  );

  it('passes a failure on', async () => {
    const api = createDispatchApiClient({
      url: 'http://127.0.0.1:1',
      token: 't',
      timeoutMs: 1_000,
      concurrency: 1,
      retry: { attempts: 1 },
      fetch: async () => new Response('{"error":{"code":"unauthorized","message":"no"}}', { status: 401 }),
    });

    expect(await afterForTime(api, START)).toMatchObject({ ok: false, kind: 'refused', status: 401 });
  });
});
