import { describe, expect, it } from 'vitest';
import { api, newWorld, rpc } from './__fixtures__/world.js';

interface JobJson {
  id: number;
  handle: string;
  status: string;
  runs_on: string[] | null;
  [key: string]: unknown;
}

async function listJobs(w: ReturnType<typeof newWorld>, path: string) {
  const res = await api(w.fake, 'GET', path, { token: w.tokens.root });
  expect(res.status).toBe(200);
  return res;
}

describe('GET .../actions/runners/jobs', () => {
  it('returns the v15 ActionRunJob shape (no run_id) with nullable needs/runs_on', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', name: 'test', runsOn: ['debian'] });
    const res = await listJobs(w, '/repos/acme/app/actions/runners/jobs');
    expect(res.text).toBe(
      JSON.stringify([
        {
          id: job.id,
          attempt: 1,
          handle: job.handle,
          repo_id: w.repos.app.id,
          owner_id: w.acme.id,
          name: 'test',
          needs: null,
          runs_on: ['debian'],
          task_id: 0,
          status: 'waiting',
        },
      ]),
    );
    expect(res.headers.get('link')).toBeNull();
    expect(res.headers.get('x-total-count')).toBeNull();
  });

  it('trap 3: body is null (not []) when nothing matches', async () => {
    const w = newWorld();
    expect((await listJobs(w, '/admin/actions/runners/jobs')).text).toBe('null');
    w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['debian'] });
    expect((await listJobs(w, '/admin/actions/runners/jobs?labels=ubuntu')).text).toBe('null');
  });

  it('trap 1: labels filter is runs_on ⊆ labels; elements are not trimmed', async () => {
    const w = newWorld();
    const both = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['docker', 'big'] });
    const one = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['docker'] });
    const ids = async (q: string) =>
      ((await listJobs(w, `/admin/actions/runners/jobs${q}`)).body as JobJson[] | null)?.map((j) => j.id) ??
      [];
    expect(await ids('?labels=docker,big,foo')).toEqual([both.id, one.id]);
    expect(await ids('?labels=docker')).toEqual([one.id]);
    expect(await ids('?labels=big')).toEqual([]);
    expect(await ids('?labels=docker,%20big')).toEqual([one.id]);
    expect(await ids('?labels=%20docker,big%20')).toEqual([both.id, one.id]);
  });

  it('trap 1: jobs without runs_on only appear with no labels param or an empty first label', async () => {
    const w = newWorld();
    const bare = w.fake.enqueueJob({ repo: 'acme/app', runsOn: null });
    const empty = w.fake.enqueueJob({ repo: 'acme/app', runsOn: [] });
    const labelled = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const ids = async (q: string) =>
      ((await listJobs(w, `/admin/actions/runners/jobs${q}`)).body as JobJson[] | null)?.map((j) => j.id) ??
      [];
    expect(await ids('')).toEqual([bare.id, empty.id, labelled.id]);
    expect(await ids('?labels=')).toEqual([bare.id, empty.id]);
    expect(await ids('?labels=,x')).toEqual([bare.id, empty.id, labelled.id]);
    expect(await ids('?labels=x')).toEqual([labelled.id]);
    const shown = (await listJobs(w, '/admin/actions/runners/jobs')).body as JobJson[];
    expect(shown.map((j) => j.runs_on)).toEqual([null, [], ['x']]);
  });

  it('trap 2: lists running jobs too; done and cancelled jobs leave the list', async () => {
    const w = newWorld();
    const a = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const b = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const reg = await api(w.fake, 'POST', '/admin/actions/runners', {
      token: w.tokens.root,
      body: { name: 'r' },
    });
    const runner = reg.body as { uuid: string; token: string };
    await rpc(w.fake, 'Declare', runner, { labels: ['x'] });
    await rpc(w.fake, 'FetchSingleTask', runner, { handle: a.handle });
    const listed = (await listJobs(w, '/admin/actions/runners/jobs')).body as JobJson[];
    expect(listed.map((j) => [j.id, j.status, j.task_id])).toEqual([
      [a.id, 'running', 1],
      [b.id, 'waiting', 0],
    ]);
    w.fake.finishJob(a.handle, 'success');
    w.fake.cancelJob(b.handle);
    expect((await listJobs(w, '/admin/actions/runners/jobs')).text).toBe('null');
    expect(w.fake.jobs().map((j) => j.status)).toEqual(['success', 'cancelled']);
  });

  it('trap 4: blocked jobs are hidden; concurrency-held jobs look waiting but are never assigned', async () => {
    const w = newWorld();
    const blocked = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'], needs: ['build'], blocked: true });
    const held = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    w.fake.setConcurrencyHeld(held.handle, true);
    const listed = (await listJobs(w, '/admin/actions/runners/jobs')).body as JobJson[];
    expect(listed.map((j) => [j.id, j.status])).toEqual([[held.id, 'waiting']]);
    const reg = await api(w.fake, 'POST', '/admin/actions/runners', {
      token: w.tokens.root,
      body: { name: 'r' },
    });
    const runner = reg.body as { uuid: string; token: string };
    await rpc(w.fake, 'Declare', runner, { labels: ['x'] });
    expect((await rpc(w.fake, 'FetchTask', runner, {})).body.task).toBeUndefined();
    w.fake.unblockJob(blocked.handle);
    const after = (await listJobs(w, '/admin/actions/runners/jobs')).body as JobJson[];
    expect(after.map((j) => j.id)).toEqual([blocked.id, held.id]);
    expect(after[0]).toMatchObject({ needs: ['build'], status: 'waiting' });
  });

  it('trap 5: a re-run keeps the id, bumps attempt and gets a new handle', async () => {
    const w = newWorld();
    const job = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    w.fake.cancelJob(job.handle);
    const again = w.fake.rerunJob(job.id);
    expect(again).toMatchObject({ id: job.id, attempt: 2, status: 'waiting', taskId: 0 });
    expect(again.handle).not.toBe(job.handle);
    const listed = (await listJobs(w, '/admin/actions/runners/jobs')).body as JobJson[];
    expect(listed).toEqual([expect.objectContaining({ id: job.id, attempt: 2, handle: again.handle })]);
  });

  it('each scope sees its subordinate scopes; the deprecated admin alias works', async () => {
    const w = newWorld();
    const app = w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const lib = w.fake.enqueueJob({ repo: 'acme/lib', runsOn: ['x'] });
    const tool = w.fake.enqueueJob({ repo: 'alice/tool', runsOn: ['x'] });
    const ids = async (path: string, token = w.tokens.root) =>
      ((await api(w.fake, 'GET', path, { token })).body as JobJson[] | null)?.map((j) => j.id) ?? [];
    expect(await ids('/admin/actions/runners/jobs')).toEqual([app.id, lib.id, tool.id]);
    expect(await ids('/admin/runners/jobs')).toEqual([app.id, lib.id, tool.id]);
    expect(await ids('/orgs/acme/actions/runners/jobs')).toEqual([app.id, lib.id]);
    expect(await ids('/repos/acme/lib/actions/runners/jobs')).toEqual([lib.id]);
    expect(await ids('/user/actions/runners/jobs', w.tokens.alice)).toEqual([tool.id]);
  });

  it('is not paginated', async () => {
    const w = newWorld();
    for (let i = 0; i < 60; i++) w.fake.enqueueJob({ repo: 'acme/app', runsOn: ['x'] });
    const res = await listJobs(w, '/admin/actions/runners/jobs?limit=5&page=2');
    expect((res.body as JobJson[]).length).toBe(60);
  });
});
