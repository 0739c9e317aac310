import { describe, expect, it } from 'vitest';
import {
  ALLOWED_TRANSITIONS,
  allowedSources,
  isAllowedTransition,
  isDispatchState,
  isLiveState,
  isTerminalState,
  TERMINAL_STATES,
} from './state-machine.js';
import { DISPATCH_STATES, type DispatchState, LIVE_STATES } from './types.js';

describe('ALLOWED_TRANSITIONS', () => {
  it.each([
    ['accepted', 'registering'],
    ['registering', 'provisioning'],
    ['provisioning', 'booting'],
    ['booting', 'running'],
    ['running', 'finished'],
    ['booting', 'finished'],
    ['booting', 'registering'],
    ['provisioning', 'registering'],
    ['provisioning', 'finished'],
    ['failed', 'registering'],
  ] as const)('allows the lifecycle step %s → %s', (from, to) => {
    expect(isAllowedTransition(from, to)).toBe(true);
  });

  it.each(
    LIVE_STATES.flatMap((from) => [
      [from, 'failed'],
      [from, 'cancelled'],
    ]),
  )('allows live %s → %s', (from, to) => {
    expect(isAllowedTransition(from as DispatchState, to as DispatchState)).toBe(true);
  });

  it.each([
    ['provisioning', 'provisioning'],
    ['accepted', 'provisioning'],
    ['accepted', 'running'],
    ['running', 'booting'],
    ['registering', 'accepted'],
    ['accepted', 'finished'],
    ['finished', 'failed'],
    ['failed', 'booting'],
    ['failed', 'cancelled'],
    ['cancelled', 'accepted'],
  ] as const)('forbids %s → %s', (from, to) => {
    expect(isAllowedTransition(from, to)).toBe(false);
  });

  it('has no self-loops and every state as a key', () => {
    expect(Object.keys(ALLOWED_TRANSITIONS).sort()).toEqual([...DISPATCH_STATES].sort());
    for (const state of DISPATCH_STATES) {
      expect(isAllowedTransition(state, state)).toBe(false);
    }
  });

  it('makes ended states exactly the complement of LIVE_STATES; only a failed one may be revived', () => {
    for (const state of DISPATCH_STATES) {
      expect(isTerminalState(state)).toBe(!isLiveState(state));
    }
    for (const state of TERMINAL_STATES) {
      expect(ALLOWED_TRANSITIONS[state]).toEqual(state === 'failed' ? ['registering'] : []);
    }
  });

  it('reaches every state from accepted', () => {
    const seen = new Set<DispatchState>(['accepted']);
    const queue: DispatchState[] = ['accepted'];
    for (let state = queue.shift(); state !== undefined; state = queue.shift()) {
      for (const next of ALLOWED_TRANSITIONS[state]) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    expect([...seen].sort()).toEqual([...DISPATCH_STATES].sort());
  });
});

describe('allowedSources', () => {
  it.each([
    ['registering', ['accepted', 'provisioning', 'booting', 'failed']],
    ['finished', ['registering', 'provisioning', 'booting', 'running']],
    ['failed', ['accepted', 'registering', 'provisioning', 'booting', 'running']],
    ['accepted', []],
  ] as const)('lists the states %s is reached from', (to, sources) => {
    expect(allowedSources(to)).toEqual(sources);
  });
});

describe('isDispatchState', () => {
  it.each([
    ['running', true],
    ['RUNNING', false],
    ['', false],
    [null, false],
    [3, false],
  ])('%j → %s', (value, expected) => {
    expect(isDispatchState(value)).toBe(expected);
  });
});
