import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  isConnectError,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryConfig,
} from './retry-policy.js';

describe('backoffMs', () => {
  const config = { attempts: 6, baseMs: 100, maxMs: 1_000 };

  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 0.5, 150],
    [4, 1, 800],
    [5, 1, 1_000],
    [9, 0, 500],
  ])('attempt %i with random %d -> %i ms', (attempt, random, expected) => {
    expect(backoffMs(attempt, config, () => random)).toBe(expected);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    [undefined, undefined],
    ['0', 0],
    [' 3 ', 3_000],
    ['120', MAX_RETRY_AFTER_MS],
    ['Thu, 01 Jan 2026 00:00:05 GMT', 5_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['later', undefined],
  ])('%j -> %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
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
    [501, false],
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

describe('isConnectError', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    ['ECONNREFUSED', withCode('ECONNREFUSED'), true],
    ['EAI_AGAIN', withCode('EAI_AGAIN'), true],
    ['wrapped cause', new Error('fetch failed', { cause: withCode('ENOTFOUND') }), true],
    ['all addresses refused', new AggregateError([withCode('ECONNREFUSED'), withCode('ENETUNREACH')]), true],
    ['one address reset', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNRESET')]), false],
    ['ECONNRESET', withCode('ECONNRESET'), false],
    ['socket closed', withCode('UND_ERR_SOCKET'), false],
    ['not an error', 'ECONNREFUSED', false],
  ])('%s -> %s', (_, err, expected) => {
    expect(isConnectError(err)).toBe(expected);
  });
});

describe('retryConfig', () => {
  it('fills defaults', () => {
    expect(retryConfig(undefined)).toEqual({ attempts: 4, baseMs: 250, maxMs: 5_000 });
  });

  it.each([{ attempts: 0 }, { attempts: 1.5 }, { baseMs: -1 }, { baseMs: 10, maxMs: 5 }])(
    'rejects %j',
    (opts) => {
      expect(() => retryConfig(opts)).toThrow(RangeError);
    },
  );
});
