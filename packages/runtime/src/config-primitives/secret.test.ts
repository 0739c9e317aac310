import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ResolvedSecret, Secret, SecretRef, withSecret } from './secret.js';

describe('Secret', () => {
  it('never prints its value: JSON, string conversion and inspect show a placeholder', () => {
    const secret = new Secret('hunter2-token', 'file:/run/credentials/token');

    expect(JSON.stringify({ token: secret })).toBe('{"token":"[redacted]"}');
    expect(`${secret}`).toBe('[redacted]');
    expect(inspect({ token: secret })).toBe('{ token: Secret(file:/run/credentials/token) }');
    expect(secret.reveal()).toBe('hunter2-token');
  });

  it('ResolvedSecret accepts a Secret and refuses a plain string', () => {
    expect(ResolvedSecret.safeParse(new Secret('x', 't')).success).toBe(true);
    expect(ResolvedSecret.safeParse('x').error?.issues[0]?.message).toBe(
      'expected a secret read by the config loader',
    );
  });
});

describe('withSecret', () => {
  const Token = withSecret({}, 'token', true);

  it.each([
    [{ token_file: 'tok' }, new SecretRef({ file: 'tok' })],
    [{ token_env: 'TOK' }, new SecretRef({ env: 'TOK' })],
  ])('%j becomes one SecretRef under token', (input, ref) => {
    expect(Token.parse(input)).toEqual({ token: ref });
  });

  it.each([
    [{}, 'token_file: required: set token_file or token_env'],
    [{ token_file: 'a', token_env: 'B' }, 'token_env: set only one of token_file and token_env'],
    [{ token: 'inline' }, 'token: secrets may not be written inline; use token_file'],
  ])('refuses %j naming the field', (input, message) => {
    const issues = Token.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues?.[0]).toContain(message);
  });
});
