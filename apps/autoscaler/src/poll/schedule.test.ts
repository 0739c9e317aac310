import { describe, expect, it } from 'vitest';
import { nextPollDelay } from './schedule.js';

const timing = { interval: 5_000, jitter: 0.2, fast_interval: 1_000, max_backoff: 60_000 };

describe('nextPollDelay', () => {
  it.each([
    ['healthy, no jitter drawn', { now: 0, fastUntil: 0, consecutiveErrors: 0 }, 0.5, 5_000],
    ['healthy, earliest', { now: 0, fastUntil: 0, consecutiveErrors: 0 }, 0, 4_000],
    ['healthy, latest', { now: 0, fastUntil: 0, consecutiveErrors: 0 }, 1, 6_000],
    ['inside a fast window', { now: 10, fastUntil: 11, consecutiveErrors: 0 }, 0.5, 1_000],
    ['after the fast window', { now: 11, fastUntil: 11, consecutiveErrors: 0 }, 0.5, 5_000],
    ['first error', { now: 0, fastUntil: 0, consecutiveErrors: 1 }, 0.5, 5_000],
    ['third error', { now: 0, fastUntil: 0, consecutiveErrors: 3 }, 0.5, 20_000],
    ['errors ignore the fast window', { now: 0, fastUntil: 99, consecutiveErrors: 2 }, 0.5, 10_000],
    ['capped', { now: 0, fastUntil: 0, consecutiveErrors: 30 }, 1, 60_000],
  ])('%s', (_name, state, random, expected) => {
    expect(nextPollDelay(timing, state, () => random)).toBe(expected);
  });
});
