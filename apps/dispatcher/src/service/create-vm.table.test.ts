import { afterEach, describe, expect, it } from 'vitest';
import { type Caller, type CreateWorldOptions, createWorld } from '../__fixtures__/create-world.js';
import { HEALTH } from './provider-health.js';

// The creation pipeline's rules, run through both of its callers: a cold dispatch and a warm
// pool refill. Each row arranges one cloud `cloud` (choices a, b unless the row says otherwise),
// then makes VMs one at a time through the caller and asserts what only the rules decide.
type World = Awaited<ReturnType<typeof createWorld>>;

interface Row {
  readonly rule: string;
  readonly options?: CreateWorldOptions;
  readonly run: (w: World) => Promise<void>;
}

const ROWS: Row[] = [
  {
    rule: 'capacity moves to the next choice, cools the failed one down, and retries it after the cooldown',
    async run(w) {
      w.cloud.failChoice('a', 'capacity');
      expect(await w.createOne()).toBe('made b');
      expect(await w.newDecisions()).toEqual([
        ['fallback', 'a', 'capacity'],
        ['create', 'b', null],
      ]);
      expect(await w.createOne()).toBe('made b');
      expect(w.creates()).toEqual(['a', 'b', 'b']); // a was cooling down: not called
      w.cloud.clearChoice('a');
      w.advance(61_000);
      expect(await w.createOne()).toBe('made a');
    },
  },
  {
    rule: 'a choice that fails capacity again cools down twice as long',
    async run(w) {
      w.cloud.failChoice('a', 'capacity');
      await w.createOne(); // a fails: 1 min
      w.advance(61_000);
      await w.createOne(); // a fails again: 2 min
      w.advance(61_000);
      const before = w.creates().length;
      expect(await w.createOne()).toBe('made b');
      expect(w.creates().slice(before)).toEqual(['b']);
    },
  },
  {
    rule: 'a fatal answer opens the circuit: no other choice, no call until it half-opens',
    async run(w) {
      w.cloud.failNext('fatal');
      expect(await w.createOne()).toBe('none');
      expect(await w.createOne()).toBe('none');
      expect(w.creates()).toEqual(['a']);
      w.advance(61_000);
      expect(await w.createOne()).toBe('made a');
    },
  },
  {
    rule: `${HEALTH.circuitThreshold} transient failures in a row open the circuit`,
    options: { choices: [{ key: 'a', machine: 'a' }] },
    async run(w) {
      for (let i = 0; i < HEALTH.circuitThreshold; i++) {
        w.cloud.failNext('transient');
        expect(await w.createOne()).toBe('none');
      }
      expect(await w.createOne()).toBe('none');
      expect(w.creates()).toHaveLength(HEALTH.circuitThreshold);
    },
  },
  {
    rule: 'a rate limit is waited out (Retry-After) and the same choice retried',
    async run(w) {
      w.cloud.failNextWithRetryAfter('rate-limited', 2_000);
      const started = w.now();
      expect(await w.createOne()).toBe('made a');
      expect(w.creates()).toEqual(['a', 'a']);
      expect(w.now() - started).toBeGreaterThanOrEqual(2_000);
    },
  },
  {
    rule: 'a lost answer is looked up by tag and its VM adopted: no second VM',
    async run(w) {
      w.cloud.loseNextAnswer();
      expect(await w.createOne()).toBe('made a');
      expect(w.creates()).toEqual(['a']);
      expect(w.cloud.instances.size).toBe(1);
    },
  },
  {
    rule: 'a lost answer whose lookup fails stops the fallback',
    async run(w) {
      w.cloud.loseNextAnswer();
      w.failNextLists(1);
      expect(await w.createOne()).toBe('unresolved');
      expect(w.creates()).toEqual(['a']);
      expect(w.cloud.instances.size).toBe(1);
      expect((await w.newDecisions()).at(-1)).toEqual(['create-failed', 'a', 'transient']);
    },
  },
  {
    rule: 'a create cut off by its deadline is looked up, falls back, and frees its create slot',
    async run(w) {
      w.hangNextCreates(1);
      expect(await w.createOne()).toBe('made b');
      const lookups = w.cloud.calls.filter((c) => c.verb === 'list');
      expect(lookups).toHaveLength(1);
      // create_concurrency 1: the next create gets the only slot at once.
      w.cloud.failChoice('b', 'capacity');
      expect(await w.createOne()).toBe('made a');
    },
  },
  {
    rule: 'a provider at max_instances is passed over without a call',
    options: { maxInstances: 1 },
    async run(w) {
      expect(await w.createOne()).toBe('made a');
      expect(await w.createOne()).toBe('none');
      expect(w.creates()).toEqual(['a']);
      const decisions = await w.store.listDecisions({ limit: 10 });
      expect(decisions.map((d) => d.reason)).toContain(
        'provider cloud is at max_instances (1); trying the next provider',
      );
    },
  },
];

const CALLERS: Caller[] = ['cold', 'warm'];
const CASES = ROWS.flatMap((row) => CALLERS.map((caller) => ({ ...row, caller })));

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('the creation pipeline, through both callers', () => {
  it.each(CASES)('$caller: $rule', async ({ caller, options, run }) => {
    world = await createWorld(caller, options);
    await run(world);
  });
});
