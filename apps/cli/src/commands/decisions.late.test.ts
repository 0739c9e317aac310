/**
 * `decisions --follow` against a decision log whose numbers do not arrive in order: on PostgreSQL
 * with several replicas, a decision can commit a moment after one with a higher number. A small
 * node:http stand-in for `GET /v1/decisions` on 127.0.0.1 serves what the test has "committed".
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DecisionView } from '@forgejo-fleet/dispatch-api';
import { abortError } from '@forgejo-fleet/runtime';
import { afterEach, describe, expect, it } from 'vitest';

function decision(seq: number): DecisionView {
  return {
    seq,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    kind: 'create',
    reason: `decision ${seq}`,
    dispatch_id: `d${seq}`,
    route: 'small',
    scope: 'org:acme',
    provider: 'cloud',
    choice: 'default',
    attempt: 1,
    error_class: null,
    cost: null,
  };
}

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** Serves the committed decisions after `after`, oldest first, as the API does. */
async function decisionLog(committed: Set<number>, asked: number[]): Promise<string> {
  const listening = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const after = Number(url.searchParams.get('after') ?? 0);
    asked.push(after);
    const items = [...committed]
      .filter((seq) => seq > after)
      .sort((a, b) => a - b)
      .map(decision);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ items }));
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

async function follow(url: string, betweenPolls: ((poll: number) => void)[]): Promise<string[]> {
  const stop = new AbortController();
  let out = '';
  let polls = 0;
  const clock = {
    now: () => Date.now(),
    async sleep(_ms: number, signal?: AbortSignal) {
      const step = betweenPolls[polls++];
      if (step) return step(polls);
      stop.abort(new Error('interrupted'));
      throw abortError(signal ?? stop.signal);
    },
  };
  const { runCli } = await import('../cli.js');
  const code = await runCli(['decisions', '--follow', '--after', '0', '--interval', '1s'], {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      out += text;
    },
    env: { FORGEJO_FLEET_URL: url, FORGEJO_FLEET_TOKEN: 'late-test-token-0123456789' },
    clock,
    signal: stop.signal,
  } as Parameters<typeof runCli>[1]);
  expect(code).toBe(0);
  return out
    .trimEnd()
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '');
}

describe('forgejo-fleet decisions --follow', () => {
  it('prints a decision that committed after a higher-numbered one, once', async () => {
    const committed = new Set([1, 2, 4]);
    const asked: number[] = [];
    const url = await decisionLog(committed, asked);

    const seqs = await follow(url, [() => committed.add(3), () => committed.add(5)]);

    expect(seqs).toEqual(['1', '2', '4', '3', '5']);
    // Every poll after the first reads the recent numbers again (the window), never from before
    // the start the operator asked for.
    expect(asked).toEqual([0, 0, 0]);
  });

  it('reads back only the last 64 numbers, not the whole log', async () => {
    const committed = new Set(Array.from({ length: 200 }, (_, i) => i + 1));
    const asked: number[] = [];
    const url = await decisionLog(committed, asked);

    const seqs = await follow(url, [() => committed.add(201)]);

    expect(seqs).toHaveLength(201);
    expect(new Set(seqs).size).toBe(201);
    expect(asked).toEqual([0, 200 - 64]);
  });
});
