import { Writable } from 'node:stream';
import { type FakeClock, fakeClock } from '@forgejo-fleet/runtime/testing';
import { createFakeForgejo, type FakeForgejo } from '@forgejo-fleet/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from './__fixtures__/config.js';
import { type FakeDispatcher, fakeDispatcher } from './__fixtures__/fake-dispatcher.js';
import { inProcessForgejo } from './__fixtures__/in-process-forgejo.js';
import { createLogger } from './logger.js';
import { type RunningAutoscaler, startAutoscaler } from './server.js';

interface World {
  fake: FakeForgejo;
  tokens: Record<string, string>;
  clock: FakeClock;
  dispatcher: FakeDispatcher;
  logs: Record<string, unknown>[];
}

let running: RunningAutoscaler | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

function world(): World {
  const clock = fakeClock();
  const fake = createFakeForgejo({ now: clock.now });
  fake.addUser({ name: 'root', admin: true });
  fake.addUser({ name: 'alice' });
  fake.addUser({ name: 'bob' });
  fake.addOrg({ name: 'acme', owners: ['alice'] });
  fake.addRepo({ owner: 'acme', name: 'web' });
  fake.addRepo({ owner: 'acme', name: 'api' });
  fake.addRepo({ owner: 'alice', name: 'site' });
  fake.addRepo({ owner: 'bob', name: 'tool' });
  const tokens = {
    root: fake.addToken({ user: 'root', scopes: ['read:admin'] }),
    alice: fake.addToken({ user: 'alice', scopes: ['read:organization', 'read:user', 'read:repository'] }),
  };
  return { fake, tokens, clock, dispatcher: fakeDispatcher({ now: clock.now }), logs: [] };
}

async function start(
  w: World,
  scopes: Record<string, string>,
  opts: {
    metrics?: boolean;
    override?: (path: string) => { status: number; body: unknown } | undefined;
  } = {},
): Promise<RunningAutoscaler> {
  const config = testConfig({
    scopes: Object.fromEntries(Object.entries(scopes).map(([key, token]) => [key, { token }])),
    ...(opts.metrics ? { metrics: true } : {}),
  });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) w.logs.push(JSON.parse(line));
      done();
    },
  });
  running = await startAutoscaler({
    config,
    log: createLogger('debug', sink),
    clock: w.clock.clock,
    random: () => 0.5,
    forgejoFor: (entry) => inProcessForgejo(w.fake, entry.token.reveal(), opts.override),
    fetch: w.dispatcher.fetch,
  });
  await w.clock.advance(0);
  return running;
}

describe('autoscaler (in-process, virtual time)', () => {
  it('dispatches a job seen by several scopes once, for the most specific scope containing it', async () => {
    const w = world();
    const jobs = {
      web: w.fake.enqueueJob({ repo: 'acme/web', runsOn: ['linux'] }),
      api: w.fake.enqueueJob({ repo: 'acme/api', runsOn: ['linux'] }),
      site: w.fake.enqueueJob({ repo: 'alice/site', runsOn: ['linux', 'small'] }),
      tool: w.fake.enqueueJob({ repo: 'bob/tool', runsOn: ['small'] }),
    };
    await start(w, {
      instance: w.tokens.root as string,
      'org:acme': w.tokens.alice as string,
      'user:alice': w.tokens.alice as string,
      'repo:acme/web': w.tokens.alice as string,
    });
    await w.clock.advance(30_000);

    const scopeOf = (handle: string) => w.dispatcher.created().filter((r) => r.handle === handle);
    expect(scopeOf(jobs.web.handle).map((r) => r.scope)).toEqual(['repo:acme/web']);
    expect(scopeOf(jobs.api.handle).map((r) => r.scope)).toEqual(['org:acme']);
    expect(scopeOf(jobs.site.handle).map((r) => r.scope)).toEqual(['user:alice']);
    expect(scopeOf(jobs.tool.handle).map((r) => r.scope)).toEqual(['instance']);
    // Remembered handles are not resent on later ticks.
    expect(w.dispatcher.requests).toHaveLength(4);
  });

  it('skips unroutable and label-less jobs without asking the dispatcher', async () => {
    const w = world();
    w.fake.enqueueJob({ repo: 'acme/web', runsOn: ['gpu'] });
    w.fake.enqueueJob({ repo: 'acme/web', runsOn: null });
    const ok = w.fake.enqueueJob({ repo: 'acme/web', runsOn: ['linux'] });
    const autoscaler = await start(w, { 'org:acme': w.tokens.alice as string });
    await w.clock.advance(20_000);
    expect(w.dispatcher.requests.map((r) => r.handle)).toEqual([ok.handle]);
    const metrics = await autoscaler.metrics.registry.metrics();
    expect(metrics).toContain('forgejo_fleet_autoscaler_skipped_total{reason="no_route"} 1');
    expect(metrics).toContain('forgejo_fleet_autoscaler_skipped_total{reason="no_labels"} 1');
    expect(metrics).toContain('forgejo_fleet_autoscaler_waiting_jobs{scope="org:acme"} 3');
  });

  it('logs a Forgejo answer that fails validation and skips that tick; the next tick works', async () => {
    const w = world();
    const job = w.fake.enqueueJob({ repo: 'acme/web', runsOn: ['linux'] });
    let bad = 1;
    const autoscaler = await start(
      w,
      { 'org:acme': w.tokens.alice as string },
      {
        override: (path) =>
          path.endsWith('/actions/runners/jobs') && bad-- > 0
            ? { status: 200, body: [{ id: 'not-a-number', handle: 42 }] }
            : undefined,
      },
    );
    expect(w.dispatcher.requests).toEqual([]);
    const warning = w.logs.find((l) => l.msg === 'poll failed; backing off');
    expect(warning).toMatchObject({ scope: 'org:acme', kind: 'invalid_response' });
    expect(await autoscaler.metrics.registry.metrics()).toContain(
      'forgejo_fleet_autoscaler_poll_errors_total{scope="org:acme",kind="invalid_response"} 1',
    );

    await w.clock.advance(5_000);
    expect(w.dispatcher.created().map((r) => r.handle)).toEqual([job.handle]);
  });

  it('reports a scope whose token is rejected in /readyz and metrics while the others keep working', async () => {
    const w = world();
    const job = w.fake.enqueueJob({ repo: 'acme/web', runsOn: ['linux'] });
    const autoscaler = await start(
      w,
      { 'org:acme': w.tokens.alice as string, 'user:bob': 'revoked-token' },
      { metrics: true },
    );
    await w.clock.advance(20_000);
    expect(w.dispatcher.created().map((r) => r.handle)).toEqual([job.handle]);

    const ready = await fetch(`${autoscaler.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { status: string; checks: { scopes: Record<string, string> } };
    expect(body.status).toBe('degraded');
    expect(body.checks.scopes['org:acme']).toBe('ok');
    expect(body.checks.scopes['user:bob']).toMatch(/^token rejected \(401\)/);
    const metrics = await (await fetch(`${autoscaler.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/forgejo_fleet_autoscaler_scope_auth_failures_total\{scope="user:bob"\} [1-9]/);
    expect(metrics).toContain('forgejo_fleet_autoscaler_scope_up{scope="user:bob"} 0');
    expect(metrics).toContain('forgejo_fleet_autoscaler_scope_up{scope="org:acme"} 1');
    expect(metrics).not.toContain('revoked-token');
  });

  it('dispatches every job once the dispatcher is back after a minute down, none twice', async () => {
    const w = world();
    w.dispatcher.setMode('refused');
    const t0 = w.clock.now();
    const handles = Array.from(
      { length: 20 },
      (_, i) => w.fake.enqueueJob({ repo: i % 2 ? 'acme/web' : 'acme/api', runsOn: ['linux'] }).handle,
    );
    await start(w, { 'org:acme': w.tokens.alice as string });
    await w.clock.advance(30_000);
    w.dispatcher.setMode('unavailable');
    await w.clock.advance(30_000);
    expect(w.dispatcher.created()).toEqual([]);
    expect(w.dispatcher.requests.every((r) => r.status === 503 || r.at - t0 < 60_000)).toBe(true);

    w.dispatcher.setMode('up');
    await w.clock.advance(60_000);
    const created = w.dispatcher.created();
    expect(created.map((r) => r.handle).sort()).toEqual([...handles].sort());
    expect(created.every((r) => r.at - t0 >= 60_000)).toBe(true);
    // Once accepted, a handle is never sent again.
    const afterUp = w.dispatcher.requests.filter((r) => r.status !== 503);
    expect(afterUp).toHaveLength(20);
  });
});
