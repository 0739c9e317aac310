import { Writable } from 'node:stream';
import { fakeClock } from '@forgejo-fleet/runtime/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DispatcherClient, ReconcileOutcome } from './client.js';
import { createReconcileNotifier } from './reconcile-notifier.js';

function world(outcome: ReconcileOutcome) {
  const time = fakeClock();
  const asked: string[] = [];
  let logText = '';
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, done) {
        logText += String(chunk);
        done();
      },
    }),
  );
  const dispatcher = {
    async reconcile(reason: string) {
      asked.push(reason);
      return outcome;
    },
  } as unknown as DispatcherClient;
  const notifier = createReconcileNotifier({
    dispatcher,
    clock: time.clock,
    log,
    quietMs: 60_000,
    signal: new AbortController().signal,
  });
  return { time, asked, notifier, logs: () => logText };
}

describe('reconcile notifier', () => {
  it.each([
    ['forbidden', /"level":40.*needs scopes \['\*'\]/],
    ['unsupported', /"level":20.*has no POST \/v1\/reconcile/],
  ] as const)(
    'leaves a dispatcher that answers %s alone for quietMs and says so once',
    async (outcome, line) => {
      const { time, asked, notifier, logs } = world(outcome);

      notifier.request('run 1 done');
      await notifier.idle();
      notifier.request('run 2 done');
      await notifier.idle();
      await time.advance(60_000);
      notifier.request('run 3 done');
      await notifier.idle();

      expect(asked).toEqual(['run 1 done', 'run 3 done']);
      expect(
        logs()
          .split('\n')
          .filter((l) => line.test(l)),
      ).toHaveLength(1);
    },
  );

  it('asks again at once after an accepted request', async () => {
    const { asked, notifier } = world('accepted');
    notifier.request('a');
    await notifier.idle();
    notifier.request('b');
    await notifier.idle();
    expect(asked).toEqual(['a', 'b']);
  });
});
