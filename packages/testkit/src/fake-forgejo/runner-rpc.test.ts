import { describe, expect, it } from 'vitest';
import { api, newWorld, rpc } from './__fixtures__/world.js';

type World = ReturnType<typeof newWorld>;

async function runner(
  w: World,
  base: string,
  labels: string[],
  o: { ephemeral?: boolean; token?: string } = {},
) {
  const res = await api(w.fake, 'POST', `${base}/actions/runners`, {
    token: o.token ?? w.tokens.root,
    body: { name: 'r', ephemeral: o.ephemeral ?? false },
  });
  const reg = res.body as { id: number; uuid: string; token: string };
  const declared = await rpc(w.fake, 'Declare', reg, { version: 'v12.8.2', labels });
  expect(declared.status).toBe(200);
  return reg;
}

describe('runner RPC', () => {
  it('rejects unknown uuid or wrong token with a connect unauthenticated error', async () => {
    const w = newWorld();
    const reg = await runner(w, '/admin', ['x']);
    for (const creds of [
      { uuid: reg.uuid, token: 'wrong' },
      { uuid: '00000000-0000-4000-8000-000000000000', token: reg.token },
      { uuid: '', token: '' },
    ]) {
      expect(await rpc(w.fake, 'Declare', creds, { labels: [] })).toEqual({
        status: 401,
        body: { code: 'unauthenticated', message: 'unregistered runner' },
      });
    }
  });

  it('Declare stores label names and returns the runner', async () => {
    const w = newWorld();
    const reg = await runner(w, '/orgs/acme', ['debian', 'gpu']);
    const again = await rpc(w.fake, 'Declare', reg, { version: 'v13', labels: ['debian'] });
    expect(again.body).toEqual({
      runner: {
        id: String(reg.id),
        uuid: reg.uuid,
        name: 'r',
        version: 'v13',
        labels: ['debian'],
        ephemeral: false,
      },
    });
    expect(w.fake.runners()[0]?.labels).toEqual(['debian']);
  });

  it('FetchTask hands out the first waiting job whose runs_on ⊆ runner labels; none -> no task key', async () => {
    const w = newWorld();
    const gpu = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['debian', 'gpu'] });
    const plain = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['debian'] });
    const small = await runner(w, '/admin', ['debian']);
    const got = await rpc(w.fake, 'FetchTask', small, { tasksVersion: '0' });
    expect(got.body.task).toMatchObject({
      id: '1',
      context: { repository: 'acme/app', run_id: String(plain.id) },
    });
    const none = await rpc(w.fake, 'FetchTask', small, {});
    expect(none.status).toBe(200);
    expect(none.body.task).toBeUndefined();
    expect(Object.keys(none.body)).toEqual(['tasksVersion']);
    expect(w.fake.jobs().map((j) => [j.id, j.status])).toEqual([
      [gpu.id, 'waiting'],
      [plain.id, 'running'],
    ]);
  });

  it('trap 11: FetchSingleTask needs the handle AND labels ⊇ runs_on; unknown handle is not an error', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['debian', 'gpu'] });
    const wrongLabels = await runner(w, '/admin', ['debian']);
    expect(
      (await rpc(w.fake, 'FetchSingleTask', wrongLabels, { handle: job.handle })).body.task,
    ).toBeUndefined();
    const right = await runner(w, '/admin', ['debian', 'gpu', 'extra']);
    const unknown = await rpc(w.fake, 'FetchSingleTask', right, { handle: 'no-such-handle' });
    expect(unknown.status).toBe(200);
    expect(unknown.body.task).toBeUndefined();
    const got = await rpc(w.fake, 'FetchSingleTask', right, { handle: job.handle });
    expect(got.body.task).toBeDefined();
  });

  it('with a handle claims exactly that job even when another matching job is ahead', async () => {
    const w = newWorld();
    const ahead = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const target = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await runner(w, '/admin', ['x']);
    await rpc(w.fake, 'FetchSingleTask', reg, { handle: target.handle });
    expect(w.fake.jobs().map((j) => [j.id, j.status])).toEqual([
      [ahead.id, 'waiting'],
      [target.id, 'running'],
    ]);
  });

  it('respects runner scope: repo runner -> that repo, owner runner -> owner repos, never Actions-disabled repos', async () => {
    const w = newWorld();
    const lib = w.fake.enqueueJob({ repo: 'acme/lib', runsOn: ['x'] });
    const tool = w.fake.enqueueJob({ repo: 'alice/tool', runsOn: ['x'] });
    const appRunner = await runner(w, '/repos/acme/app', ['x']);
    expect(
      (await rpc(w.fake, 'FetchSingleTask', appRunner, { handle: lib.handle })).body.task,
    ).toBeUndefined();
    expect((await rpc(w.fake, 'FetchTask', appRunner, {})).body.task).toBeUndefined();
    const orgRunner = await runner(w, '/orgs/acme', ['x'], { token: w.tokens.alice });
    expect(
      (await rpc(w.fake, 'FetchSingleTask', orgRunner, { handle: tool.handle })).body.task,
    ).toBeUndefined();
    expect((await rpc(w.fake, 'FetchTask', orgRunner, {})).body.task).toMatchObject({
      context: { repository: 'acme/lib' },
    });
    const userRunner = await runner(w, '/user', ['x'], { token: w.tokens.alice });
    expect((await rpc(w.fake, 'FetchTask', userRunner, {})).body.task).toMatchObject({
      context: { repository: 'alice/tool' },
    });
  });

  it('an ephemeral runner that already had a task gets nothing more', async () => {
    const w = newWorld();
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const second = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const eph = await runner(w, '/admin', ['x'], { ephemeral: true });
    expect((await rpc(w.fake, 'FetchTask', eph, {})).body.task).toBeDefined();
    expect((await rpc(w.fake, 'FetchSingleTask', eph, { handle: second.handle })).body.task).toBeUndefined();
  });

  it('two runners racing for one handle: exactly one wins', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const a = await runner(w, '/admin', ['x'], { ephemeral: true });
    const b = await runner(w, '/admin', ['x'], { ephemeral: true });
    const results = await Promise.all([
      rpc(w.fake, 'FetchSingleTask', a, { handle: job.handle }),
      rpc(w.fake, 'FetchSingleTask', b, { handle: job.handle }),
    ]);
    expect(results.filter((r) => r.body.task !== undefined)).toHaveLength(1);
    expect(w.fake.runners().filter((r) => r.taskIds.length > 0)).toHaveLength(1);
  });

  it('UpdateTask on a task stopped by cancel (persistent runner) answers RESULT_CANCELLED and changes nothing', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await runner(w, '/admin', ['x']);
    const task = (await rpc(w.fake, 'FetchTask', reg, {})).body.task as { id: string };
    w.fake.cancelJob(job.handle);
    const res = await rpc(w.fake, 'UpdateTask', reg, { state: { id: task.id, result: 'RESULT_SUCCESS' } });
    expect(res.body).toEqual({ state: { id: task.id, result: 'RESULT_CANCELLED' }, sentOutputs: [] });
    expect(w.fake.jobs()[0]?.status).toBe('cancelled');
    const progress = await rpc(w.fake, 'UpdateTask', reg, { state: { id: task.id } });
    expect(progress.body).toMatchObject({ state: { result: 'RESULT_CANCELLED' } });
  });

  it('UpdateTask without a final result keeps the job running; a foreign task is not found', async () => {
    const w = newWorld();
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await runner(w, '/admin', ['x']);
    const other = await runner(w, '/admin', ['x']);
    const task = (await rpc(w.fake, 'FetchTask', reg, {})).body.task as { id: string };
    const res = await rpc(w.fake, 'UpdateTask', reg, {
      state: { id: task.id, result: 'RESULT_UNSPECIFIED' },
    });
    expect(res.body).toMatchObject({ state: { result: 'RESULT_UNSPECIFIED' } });
    expect(w.fake.jobs()[0]?.status).toBe('running');
    const foreign = await rpc(w.fake, 'UpdateTask', other, {
      state: { id: task.id, result: 'RESULT_SUCCESS' },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 'not_found' });
  });

  it('a job re-run gets a new handle; the old handle no longer fetches (trap 5)', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    w.fake.cancelJob(job.handle);
    const again = w.fake.rerunJob(job.id);
    const reg = await runner(w, '/admin', ['x']);
    expect((await rpc(w.fake, 'FetchSingleTask', reg, { handle: job.handle })).body.task).toBeUndefined();
    expect((await rpc(w.fake, 'FetchSingleTask', reg, { handle: again.handle })).body.task).toBeDefined();
  });

  it('connect errors for bad requests and unknown methods', async () => {
    const w = newWorld();
    const reg = await runner(w, '/admin', ['x']);
    const bad = await w.fake.app.request(
      'http://127.0.0.1/api/actions/runner.v1.RunnerService/FetchSingleTask',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-runner-uuid': reg.uuid,
          'x-runner-token': reg.token,
        },
        body: '{not json',
      },
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_argument' });
    const missingHandle = await rpc(w.fake, 'FetchSingleTask', reg, {});
    expect(missingHandle.status).toBe(400);
    const unknown = await rpc(w.fake, 'Register', reg, {});
    expect(unknown).toMatchObject({ status: 404, body: { code: 'unimplemented' } });
  });
});
