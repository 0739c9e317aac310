import { fakeClock } from '@forgejo-fleet/runtime/testing';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { createReceiverApp, type WebhookSignal } from './receiver.js';
import { sign } from './signature.js';

const SECRET = 'hook-secret-123';

function setup(opts: { maxBody?: number; knownRepo?: boolean } = {}) {
  const signals: WebhookSignal[] = [];
  const metrics = createMetrics();
  const app = createReceiverApp({
    secret: SECRET,
    maxBody: opts.maxBody ?? 4096,
    path: '/webhook',
    clock: fakeClock().clock,
    metrics,
    log: createLogger('silent'),
    onSignal: (signal) => {
      signals.push(signal);
      return opts.knownRepo ?? true;
    },
  });
  async function post(body: string | Uint8Array, headers: Record<string, string> = {}) {
    const res = await app.request('/webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  async function count(result: string): Promise<number> {
    const metric = await metrics.webhookDeliveries.get();
    return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
  }
  return { post, signals, count };
}

const push = JSON.stringify(
  {
    ref: 'refs/heads/main',
    repository: { id: 3, name: 'web', full_name: 'acme/web', owner: { id: 2, login: 'acme' } },
  },
  null,
  2,
);

function signed(body: string | Uint8Array, delivery = 'd-1', event = 'push') {
  return {
    'x-forgejo-signature': sign(SECRET, body),
    'x-forgejo-delivery': delivery,
    'x-forgejo-event': event,
  };
}

describe('webhook receiver', () => {
  it('accepts a signed push and asks for a fast poll of its repository', async () => {
    const { post, signals, count } = setup();
    expect(await post(push, signed(push))).toEqual({ status: 202, body: { status: 'accepted' } });
    expect(signals).toEqual([
      { event: 'push', kind: 'push_like', delivery: 'd-1', repo: { owner: 'acme', name: 'web' } },
    ]);
    expect(await count('accepted')).toBe(1);
  });

  it('reads the repository of action_run events from the run', async () => {
    const { post, signals } = setup();
    const body = JSON.stringify({
      action: 'success',
      run: { id: 7, repository: JSON.parse(push).repository },
    });
    expect((await post(body, signed(body, 'd-2', 'action_run_success'))).status).toBe(202);
    expect(signals[0]).toMatchObject({ kind: 'run_finished', repo: { owner: 'acme', name: 'web' } });
  });

  it.each([
    ['unsigned', () => ({ 'x-forgejo-delivery': 'd-1', 'x-forgejo-event': 'push' }), 401, 'unsigned'],
    ['empty signature', () => ({ ...signed(push), 'x-forgejo-signature': '' }), 401, 'unsigned'],
    [
      'wrong signature',
      () => ({ ...signed(push), 'x-forgejo-signature': sign('other', push) }),
      401,
      'bad_signature',
    ],
    ['signature not hex', () => ({ ...signed(push), 'x-forgejo-signature': 'zz' }), 401, 'bad_signature'],
    ['no delivery id', () => ({ ...signed(push), 'x-forgejo-delivery': '' }), 400, 'malformed'],
  ])('rejects %s with %i and acts on nothing', async (_name, headers, status, result) => {
    const { post, signals, count } = setup();
    const answer = await post(push, headers());
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ error: { code: result } });
    expect(signals).toEqual([]);
    expect(await count(result)).toBe(1);
  });

  it('rejects an oversize body with 413 before checking anything else', async () => {
    const { post, signals, count } = setup({ maxBody: 1024 });
    const big = JSON.stringify({ repository: JSON.parse(push).repository, pad: 'x'.repeat(2000) });
    expect((await post(big, signed(big))).status).toBe(413);
    expect(signals).toEqual([]);
    expect(await count('oversize')).toBe(1);
  });

  it.each([
    ['not JSON', Buffer.from('{"repository": ')],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['no repository shape', Buffer.from(JSON.stringify({ repository: { id: 'three' } }))],
  ])('rejects a signed but malformed body (%s) with 400', async (_name, body) => {
    const { post, signals, count } = setup();
    expect((await post(body, signed(body))).status).toBe(400);
    expect(signals).toEqual([]);
    expect(await count('malformed')).toBe(1);
  });

  it('acts on a duplicate delivery once', async () => {
    const { post, signals, count } = setup();
    expect((await post(push, signed(push, 'same'))).status).toBe(202);
    expect(await post(push, signed(push, 'same'))).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(signals).toHaveLength(1);
    expect(await count('duplicate')).toBe(1);
  });

  it('answers 202 but ignores deliveries for repositories outside every scope', async () => {
    const { post, count } = setup({ knownRepo: false });
    expect(await post(push, signed(push))).toEqual({ status: 202, body: { status: 'ignored' } });
    expect(await count('ignored')).toBe(1);
  });
});
