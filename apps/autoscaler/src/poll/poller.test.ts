import { ForgejoApiError, type ForgejoClient, parseScope, type RunJob } from '@forgejo-fleet/forgejo';
import { fakeClock } from '@forgejo-fleet/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import type { ScopeState } from '../scopes/scope-state.js';
import { createPoller, type Poller } from './poller.js';

const timing = { interval: 5_000, jitter: 0, fast_interval: 1_000, fast_window: 4_000, max_backoff: 40_000 };
let poller: Poller | undefined;
afterEach(async () => {
  await poller?.stop();
});

function setup(listJobs: () => Promise<RunJob[]>) {
  const clock = fakeClock();
  const calls: number[] = [];
  const client = {
    listJobs: async () => {
      calls.push(clock.now());
      return listJobs();
    },
    getOrg: async () => ({ id: 1 }),
  } as unknown as ForgejoClient;
  const state: ScopeState = {
    key: 'org:acme',
    scope: parseScope('org:acme'),
    client,
    manageHook: false,
    identity: undefined,
    health: { status: 'starting' },
  };
  const seen: RunJob[][] = [];
  poller = createPoller({
    state,
    clock: clock.clock,
    random: () => 0.5,
    timing,
    metrics: createMetrics(),
    log: createLogger('silent'),
    onJobs: (_s, waiting) => seen.push([...waiting]),
  });
  const t0 = clock.now();
  const at = () => calls.map((t) => t - t0);
  return { clock, state, seen, at, poller };
}

const job = (handle: string, status: string): RunJob => ({
  id: 1,
  handle,
  attempt: 1,
  repo_id: 1,
  owner_id: 1,
  name: 'build',
  needs: [],
  runs_on: ['linux'],
  task_id: 0,
  status,
});

describe('poller', () => {
  it('polls at once, then every interval, and hands on only waiting jobs', async () => {
    const { clock, seen, at, poller } = setup(async () => [job('a', 'waiting'), job('b', 'running')]);
    poller.start();
    await clock.advance(12_000);
    expect(at()).toEqual([0, 5_000, 10_000]);
    expect(seen[0]?.map((j) => j.handle)).toEqual(['a']);
  });

  it('backs off exponentially on errors up to max_backoff, and reports a rejected token', async () => {
    const { clock, state, at, poller } = setup(async () => {
      throw new ForgejoApiError({
        status: 401,
        forgejoMessage: 'bad',
        method: 'GET',
        path: '/x',
        retryable: false,
      });
    });
    poller.start();
    await clock.advance(200_000);
    expect(at()).toEqual([0, 5_000, 15_000, 35_000, 75_000, 115_000, 155_000, 195_000]);
    expect(state.health).toMatchObject({ status: 'auth_rejected', httpStatus: 401 });
  });

  it('polls at once when asked, then fast for the fast window', async () => {
    const { clock, at, poller } = setup(async () => []);
    poller.start();
    await clock.advance(2_000);
    poller.pollNow({ fast: true });
    await clock.advance(10_000);
    expect(at()).toEqual([0, 2_000, 3_000, 4_000, 5_000, 6_000, 11_000]);
  });
});
