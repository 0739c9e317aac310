import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelayMs,
  retryPolicy,
} from './retry.js';

describe('backoffMs', () => {
  const policy = { attempts: 6, baseMs: 100, maxMs: 1_000 };

  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 0.5, 150],
    [4, 1, 800],
    [5, 1, 1_000],
    [9, 0, 500],
  ])('attempt %i with random %d -> %i ms', (attempt, random, expected) => {
    expect(backoffMs(attempt, policy, () => random)).toBe(expected);
  });
});

describe('retryDelayMs', () => {
  const policy = { attempts: 3, baseMs: 1_000, maxMs: 8_000 };

  it.each([
    [undefined, 500],
    [0, 500],
    [200, 500],
    [3_000, 3_000],
  ])('Retry-After %j -> %i ms', (retryAfter, expected) => {
    expect(retryDelayMs(1, policy, () => 0, retryAfter)).toBe(expected);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    [undefined, undefined],
    [null, undefined],
    ['0', 0],
    [' 3 ', 3_000],
    ['120', MAX_RETRY_AFTER_MS],
    ['Thu, 01 Jan 2026 00:00:05 GMT', 5_000],
    ['Thu, 01 Jan 2026 01:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['later', undefined],
    ['', undefined],
  ])('%j -> %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('caps at the given maximum', () => {
    expect(parseRetryAfter('30', now, 10_000)).toBe(10_000);
  });
});

describe('isRetryableStatus', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
    [501, false],
    [505, false],
    [600, false],
    [200, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [422, false],
  ])('%i -> %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });
});

describe('retryPolicy', () => {
  const defaults = { attempts: 4, baseMs: 250, maxMs: 5_000 };

  it('fills defaults field by field', () => {
    expect(retryPolicy(undefined, defaults)).toEqual(defaults);
    expect(retryPolicy({ attempts: 2 }, defaults)).toEqual({ ...defaults, attempts: 2 });
  });

  it.each([
    [{ attempts: 0 }, 'retry.attempts'],
    [{ attempts: 1.5 }, 'retry.attempts'],
    [{ baseMs: -1 }, 'baseMs'],
    [{ baseMs: 10, maxMs: 5 }, 'maxMs'],
  ])('rejects %j naming %s', (opts, field) => {
    expect(() => retryPolicy(opts, defaults)).toThrow(new RegExp(field.replace('.', '\\.')));
  });
});
