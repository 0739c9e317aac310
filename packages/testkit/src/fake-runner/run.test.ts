import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWorld, type World } from './__fixtures__/setup.js';
import { runFakeRunner } from './run.js';

let w: World;
beforeEach(async () => {
  w = await startWorld();
});
afterEach(async () => {
  await w.close();
});

function capture() {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    out: () => out,
    err: () => err,
  };
}

const fast = { FAKE_RUNNER_JOB_MS: '0' };

describe('runFakeRunner against startFakeForgejo', () => {
  it('with --handle claims exactly that job even when another matching job is ahead; runner gone after', async () => {
    const ahead = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['debian'] });
    const target = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['debian'] });
    const { reg, argv } = await w.registerRunner();
    const io = capture();
    const code = await runFakeRunner(
      [...argv, '--label', 'debian:docker://node:lts', '--handle', target.handle, '--wait'],
      {
        ...io,
        env: fast,
      },
    );
    expect(code).toBe(0);
    expect(w.fake.jobs().map((j) => [j.id, j.status])).toEqual([
      [ahead.id, 'waiting'],
      [target.id, 'success'],
    ]);
    const runner = w.fake.runners().find((r) => r.id === reg.id);
    expect(runner).toMatchObject({ deleted: true, labels: ['debian'], version: 'v12.8.2-fake' });
    const res = await fetch(`${w.fake.url}/api/v1/orgs/acme/actions/runners/${reg.id}`, {
      headers: { Authorization: `token ${w.fake.addToken({ user: 'alice', scopes: ['all'] })}` },
    });
    expect(res.status).toBe(404);
    expect(io.out()).toContain('declared successfully');
  });

  it('without --handle uses FetchTask; FAKE_RUNNER_RESULT=failure still exits 0', async () => {
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['vm'] });
    const { argv } = await w.registerRunner();
    const code = await runFakeRunner([...argv, '--label', 'vm:host'], {
      env: { ...fast, FAKE_RUNNER_RESULT: 'failure' },
    });
    expect(code).toBe(0);
    expect(w.fake.jobs()[0]).toMatchObject({ id: job.id, status: 'failure' });
    expect(w.fake.calls().map((c) => c.path.split('/').at(-1))).toEqual([
      'runners',
      'Declare',
      'FetchTask',
      'UpdateLog',
      'UpdateTask',
    ]);
  });

  it('without --wait and no task exits 2 after exactly one fetch', async () => {
    const { argv } = await w.registerRunner();
    const io = capture();
    expect(
      await runFakeRunner([...argv, '--label', 'vm:host', '--handle', 'unknown'], { ...io, env: fast }),
    ).toBe(2);
    expect(w.fake.calls().filter((c) => c.path.endsWith('/FetchSingleTask'))).toHaveLength(1);
    expect(io.err()).toContain('no task');
  });

  it('--wait on a cancelled handle keeps polling at the fetch interval until aborted, then exits 0', async () => {
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['vm'] });
    w.fake.cancelJob(job.handle);
    const { argv } = await w.registerRunner();
    const controller = new AbortController();
    const sleeps: number[] = [];
    const code = await runFakeRunner(
      [...argv, '--label', 'vm:host', '--handle', job.handle, '--wait', '--fetch-interval', '3s'],
      {
        env: fast,
        signal: controller.signal,
        sleep: async (ms) => {
          sleeps.push(ms);
          if (sleeps.length === 5) controller.abort();
        },
      },
    );
    expect(code).toBe(0);
    expect(sleeps).toEqual([3000, 3000, 3000, 3000, 3000]);
    expect(w.fake.calls().filter((c) => c.path.endsWith('/FetchSingleTask'))).toHaveLength(5);
    expect(w.fake.runners()[0]).toMatchObject({ deleted: false, taskIds: [] });
  });

  it('--wait picks the job up once it becomes assignable; fetch errors count as no task', async () => {
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['vm'] });
    w.fake.setConcurrencyHeld(job.handle, true);
    w.fake.injectFault({ path: /FetchSingleTask$/, status: 503, times: 1 });
    const { argv } = await w.registerRunner();
    let polls = 0;
    const io = capture();
    const code = await runFakeRunner([...argv, '--label', 'vm:host', '--handle', job.handle, '--wait'], {
      ...io,
      env: fast,
      sleep: async (ms) => {
        if (ms === 0) return; // the fake job itself
        polls++;
        if (polls === 2) w.fake.setConcurrencyHeld(job.handle, false);
      },
    });
    expect(code).toBe(0);
    expect(polls).toBe(2);
    expect(w.fake.jobs()[0]?.status).toBe('success');
    expect(io.err()).toContain('unavailable');
  });

  it('bad token -> exit 1 (Declare unauthenticated)', async () => {
    const { argv } = await w.registerRunner({ tokenFileContent: () => 'not-the-token' });
    const io = capture();
    expect(await runFakeRunner([...argv, '--label', 'vm:host'], { ...io, env: fast })).toBe(1);
    expect(io.err()).toContain('unauthenticated');
  });

  it('a deleted registration cannot run: exit 1', async () => {
    const { reg, argv } = await w.registerRunner();
    const pat = w.fake.addToken({ user: 'alice', scopes: ['all'] });
    await fetch(`${w.fake.url}/api/v1/orgs/acme/actions/runners/${reg.id}`, {
      method: 'DELETE',
      headers: { Authorization: `token ${pat}` },
    });
    expect(await runFakeRunner([...argv, '--label', 'vm:host'], { env: fast })).toBe(1);
  });

  it('token file: trimmed, must be non-empty, file: only, $CREDENTIALS_DIRECTORY expanded', async () => {
    const { argv, reg } = await w.registerRunner({ tokenFileContent: (t) => `  ${t}\n\n` });
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['vm'] });
    expect(await runFakeRunner([...argv, '--label', 'vm:host'], { env: fast })).toBe(0);
    const empty = await w.registerRunner({ tokenFileContent: () => ' \n' });
    const io = capture();
    expect(await runFakeRunner([...empty.argv, '--label', 'vm:host'], { ...io, env: fast })).toBe(1);
    expect(io.err()).toContain('empty');
    const https = argv.map((a) => (a.startsWith('file://') ? 'https://127.0.0.1/token' : a));
    expect(await runFakeRunner([...https, '--label', 'vm:host'], { env: fast })).toBe(1);
    const cred = await w.registerRunner();
    const credArgv = cred.argv.map((a) =>
      a.startsWith('file://') ? `file://$CREDENTIALS_DIRECTORY/token-${cred.reg.id}` : a,
    );
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['vm'] });
    expect(
      await runFakeRunner([...credArgv, '--label', 'vm:host'], {
        env: { ...fast, CREDENTIALS_DIRECTORY: w.dir },
      }),
    ).toBe(0);
    expect(reg.id).toBeGreaterThan(0);
  });

  it('declares label names only and refuses non-loopback URLs', async () => {
    const { argv, reg } = await w.registerRunner();
    await runFakeRunner([...argv, '--label', 'a:docker://img:1', '--label', 'b:host', '--label', 'c'], {
      env: fast,
    });
    expect(w.fake.runners().find((r) => r.id === reg.id)?.labels).toEqual(['a', 'b', 'c']);
    const remote = argv.map((a) => (a.startsWith('http') ? 'https://forgejo.example/' : a));
    const io = capture();
    expect(await runFakeRunner(remote, { ...io, env: fast })).toBe(1);
    expect(io.err()).toContain('loopback');
  });
});
