/**
 * Bad input for the webhook receiver (fast-check): generated deliveries (bodies, signatures,
 * delivery ids, events, sizes) never get a 5xx or crash it; every answer is 200, 202, 400, 401 or
 * 413; a rejected delivery triggers nothing and is not remembered, so the same delivery id sent
 * properly afterwards is still acted on.
 */

import { fakeClock } from '@forgejo-fleet/runtime/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { createReceiverApp, type WebhookSignal } from './receiver.js';
import { sign } from './signature.js';

export const FUZZ_RUNS = 1000;
const SECRET = 'fuzz-hook-secret';
const MAX_BODY = 4096;

const REPOSITORY = fc.record(
  {
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    name: fc.oneof(fc.string(), fc.integer()),
    owner: fc.oneof(
      fc.record(
        { id: fc.oneof(fc.integer(), fc.string()), login: fc.string(), username: fc.string() },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
    full_name: fc.oneof(fc.string(), fc.constant('a/b/c'), fc.integer()),
  },
  { requiredKeys: [] },
);
const PAYLOAD = fc.oneof(
  fc.record({ repository: REPOSITORY }, { requiredKeys: [] }),
  fc.record({ run: fc.oneof(fc.record({ repository: REPOSITORY }, { requiredKeys: [] }), fc.anything()) }),
  fc.jsonValue(),
);
const BODY = fc.oneof(
  { weight: 5, arbitrary: PAYLOAD.map((p) => Buffer.from(JSON.stringify(p))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.string().map((s) => Buffer.from(s)) },
  {
    weight: 1,
    arbitrary: fc.nat({ max: 200 }).map((n) => Buffer.from(`{"pad":"${'x'.repeat(MAX_BODY + n)}"}`)),
  },
);
const HEADER_TEXT = fc.string({
  unit: fc.constantFrom(...'abcdef0123456789-_ XYZ.:/'),
  maxLength: 120,
});
const SIGNATURE = fc.constantFrom(
  'valid',
  'valid',
  'valid',
  'wrong-secret',
  'garbage',
  'missing',
  'uppercase',
);
const EVENT = fc.oneof(
  fc.constantFrom('push', 'pull_request', 'action_run_success', 'action_run_failure', 'workflow_job', ''),
  HEADER_TEXT,
);
const DELIVERY = fc.oneof(fc.uuid(), HEADER_TEXT, fc.constant(''));

function setup() {
  const signals: WebhookSignal[] = [];
  const app = createReceiverApp({
    secret: SECRET,
    maxBody: MAX_BODY,
    path: '/webhook',
    clock: fakeClock().clock,
    metrics: createMetrics(),
    log: createLogger('silent'),
    onSignal: (signal) => {
      signals.push(signal);
      return true;
    },
  });
  return { app, signals };
}

function signature(kind: string, body: Buffer): string | undefined {
  switch (kind) {
    case 'valid':
      return sign(SECRET, body);
    case 'wrong-secret':
      return sign('another-secret', body);
    case 'uppercase':
      return sign(SECRET, body).toUpperCase();
    case 'missing':
      return undefined;
    default:
      return 'z'.repeat(64);
  }
}

describe('webhook receiver under bad input', () => {
  it(`${FUZZ_RUNS} generated deliveries: no 5xx; a rejection acts on nothing and is not remembered`, async () => {
    const { app, signals } = setup();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(BODY, SIGNATURE, EVENT, DELIVERY, async (body, sigKind, event, delivery) => {
        const before = signals.length;
        const sig = signature(sigKind, body);
        const res = await app.request('/webhook', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-forgejo-event': event,
            'x-forgejo-delivery': delivery,
            ...(sig === undefined ? {} : { 'x-forgejo-signature': sig }),
          },
          body,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 202, 400, 401, 413]).toContain(res.status);
        await res.json();
        if (res.status >= 400) {
          expect(signals.length).toBe(before);
          // Not remembered: a proper delivery under the same id afterwards is acted on.
          if (/^[\w-]{1,100}$/.test(delivery)) {
            const good = Buffer.from(
              JSON.stringify({ repository: { id: 1, name: 'web', owner: { id: 2, login: 'acme' } } }),
            );
            const retry = await app.request('/webhook', {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'x-forgejo-event': 'push',
                'x-forgejo-delivery': delivery,
                'x-forgejo-signature': sign(SECRET, good),
              },
              body: good,
            });
            expect(retry.status === 202 || retry.status === 200).toBe(true);
          }
        } else {
          expect(signals.length - before).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: FUZZ_RUNS, seed: 5 },
    );
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([202, 400, 401, 413]));
  }, 30_000);

  it('rejects a body over the limit whatever its content-length claims', async () => {
    const { app, signals } = setup();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 4 * MAX_BODY }), fc.nat({ max: MAX_BODY }), async (extra, claimed) => {
        const body = Buffer.from(`{"repository":null,"pad":"${'y'.repeat(MAX_BODY + extra)}"}`);
        const res = await app.request('/webhook', {
          method: 'POST',
          headers: {
            'content-length': String(claimed),
            'x-forgejo-signature': sign(SECRET, body),
            'x-forgejo-delivery': 'd',
            'x-forgejo-event': 'push',
          },
          body,
        });
        expect([400, 413]).toContain(res.status);
        expect(signals).toEqual([]);
      }),
      { numRuns: 50, seed: 6 },
    );
  });
});
