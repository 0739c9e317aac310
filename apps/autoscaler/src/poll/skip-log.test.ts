import { Writable } from 'node:stream';
import type { RunJob } from '@forgejo-fleet/forgejo';
import { fakeClock } from '@forgejo-fleet/runtime/testing';
import { createFakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../__fixtures__/config.js';
import { fakeDispatcher } from '../__fixtures__/fake-dispatcher.js';
import { inProcessForgejo } from '../__fixtures__/in-process-forgejo.js';
import { createLogger } from '../logger.js';
import { type RunningAutoscaler, startAutoscaler } from '../server.js';
import { createSkipLog } from './skip-log.js';

type LogLine = Record<string, unknown>;

/** A pino logger writing parsed JSON lines into `lines`. */
function capturedLogger(lines: LogLine[]) {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return createLogger('debug', sink);
}

const skippedLines = (lines: LogLine[]) => lines.filter((l) => l.msg === 'job skipped');

let running: RunningAutoscaler | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('autoscaler: skipped jobs', () => {
  it('logs each skipped job once (id, handle, scope, labels, reason), however many polls see it', async () => {
    const clock = fakeClock();
    const fake = createFakeForgejo({ now: clock.now });
    fake.addUser({ name: 'alice' });
    fake.addOrg({ name: 'acme', owners: ['alice'] });
    fake.addRepo({ owner: 'acme', name: 'web' });
    const token = fake.addToken({ user: 'alice', scopes: ['read:organization'] });
    const gpu = fake.enqueueJob({ repo: 'acme/web', name: 'train', runsOn: ['gpu', 'linux'] });
    const bare = fake.enqueueJob({ repo: 'acme/web', name: 'lint', runsOn: null });
    const ok = fake.enqueueJob({ repo: 'acme/web', runsOn: ['linux'] });
    const dispatcher = fakeDispatcher({ now: clock.now });
    const lines: LogLine[] = [];
    running = await startAutoscaler({
      // Routes refresh every 5 s: each refresh looks at the skipped jobs again.
      config: testConfig({ scopes: { 'org:acme': { token } }, routesRefresh: '5s' }),
      log: capturedLogger(lines),
      clock: clock.clock,
      random: () => 0.5,
      forgejoFor: (entry) => inProcessForgejo(fake, entry.token.reveal()),
      fetch: dispatcher.fetch,
    });

    await clock.advance(120_000);

    expect(dispatcher.requests.map((r) => r.handle)).toEqual([ok.handle]);
    // Looked at again and again (the counter says so), logged once each.
    const metrics = await running.metrics.registry.metrics();
    expect(metrics).toMatch(/skipped_total\{reason="no_route"\} ([2-9]|\d\d+)\n/);
    expect(skippedLines(lines)).toEqual([
      expect.objectContaining({
        level: 30,
        jobId: gpu.id,
        handle: gpu.handle,
        job: 'train',
        scope: 'org:acme',
        labels: ['gpu', 'linux'],
        reason: 'no_route',
        detail: 'no route takes labels [gpu, linux]',
      }),
      expect.objectContaining({
        jobId: bare.id,
        handle: bare.handle,
        job: 'lint',
        scope: 'org:acme',
        labels: [],
        reason: 'no_labels',
      }),
    ]);
  });
});

describe('skip log', () => {
  const job = (handle: string, id = 1): RunJob => ({
    id,
    handle,
    attempt: 1,
    repo_id: 1,
    owner_id: 1,
    name: 'build',
    needs: [],
    runs_on: ['gpu'],
    task_id: 0,
    status: 'waiting',
  });

  function setup(max = 100, ttlMs = 1_000) {
    let now = 0;
    const lines: LogLine[] = [];
    const skips = createSkipLog({ log: capturedLogger(lines), now: () => now, ttlMs, max });
    return {
      skips,
      handles: () => skippedLines(lines).map((l) => `${l.handle}:${l.reason}`),
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  it('logs a job again only when its reason changes', () => {
    const { skips, handles } = setup();
    skips.record(job('a'), 'org:acme', 'no_route', 'no route');
    skips.record(job('a'), 'org:acme', 'no_route', 'no route');
    skips.record(job('a'), 'org:acme', 'rejected', 'bad scope');
    skips.record(job('a'), 'org:acme', 'rejected', 'bad scope');
    expect(handles()).toEqual(['a:no_route', 'a:rejected']);
  });

  it('forgets a job that is no longer skipped after the ttl, but not one skipped again within it', () => {
    const { skips, handles, advance } = setup(100, 1_000);
    skips.record(job('stays'), 'org:acme', 'no_route', '');
    skips.record(job('left'), 'org:acme', 'no_route', '');
    for (let i = 0; i < 5; i++) {
      advance(600);
      skips.record(job('stays'), 'org:acme', 'no_route', '');
    }
    // 'left' was not seen for 3 s (> ttl): forgotten, so a new skip of it is news again.
    skips.record(job('left'), 'org:acme', 'no_route', '');
    expect(handles()).toEqual(['stays:no_route', 'left:no_route', 'left:no_route']);
  });

  it('remembers at most `max` jobs, dropping the oldest first', () => {
    const { skips, handles } = setup(2);
    for (const handle of ['a', 'b', 'c']) skips.record(job(handle), 'org:acme', 'no_route', '');
    expect(skips.size).toBe(2);
    skips.record(job('c'), 'org:acme', 'no_route', '');
    skips.record(job('a'), 'org:acme', 'no_route', '');
    expect(handles()).toEqual(['a:no_route', 'b:no_route', 'c:no_route', 'a:no_route']);
  });
});
