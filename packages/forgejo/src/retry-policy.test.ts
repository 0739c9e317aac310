import { describe, expect, it } from 'vitest';
import { isConnectError, isUnprocessedStatus } from './retry-policy.js';

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

describe('isUnprocessedStatus', () => {
  it.each([
    [429, true],
    [503, false],
    [500, false],
    [408, false],
  ])('%i -> %s (may a POST be retried)', (status, expected) => {
    expect(isUnprocessedStatus(status)).toBe(expected);
  });
});
