import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, ScopeSyntaxError, scopeApiPrefix, scopeContains } from './scope.js';

describe('parseScope', () => {
  it.each([
    ['instance', '/admin'],
    ['org:acme', '/orgs/acme'],
    ['user:alice', '/user'],
    ['repo:acme/web.site', '/repos/acme/web.site'],
  ])('round-trips %s', (text, prefix) => {
    const scope = parseScope(text);
    expect(formatScope(scope)).toBe(text);
    expect(scopeApiPrefix(scope)).toBe(prefix);
  });

  it.each(['', 'global', 'org:', 'org:a b', 'repo:acme', 'repo:acme/x/y', 'user:-x', 'repo:/x'])(
    'rejects %j with a fix',
    (text) => {
      expect(() => parseScope(text)).toThrow(ScopeSyntaxError);
    },
  );
});

describe('scopeContains', () => {
  it.each([
    ['instance', 'repo:a/b', true],
    ['org:a', 'repo:A/b', true],
    ['org:a', 'repo:c/b', false],
    ['repo:a/b', 'repo:a/b', true],
    ['repo:a/b', 'org:a', false],
    ['org:a', 'instance', false],
  ])('%s contains %s: %s', (outer, inner, expected) => {
    expect(scopeContains(parseScope(outer), parseScope(inner))).toBe(expected);
  });
});
