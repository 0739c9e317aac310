import { describe, expect, it } from 'vitest';
import { connect } from './api-flags.js';
import { UsageError } from './io.js';

const io = (env: Record<string, string>) => ({
  stdout: () => undefined,
  stderr: () => undefined,
  env,
  readFile: () => 'from-file\n',
});

describe('connect', () => {
  it('without a token names every way to give one: the flag and both variables', () => {
    const attempt = () => connect({}, io({}));

    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(
      'no client token: pass --token-file FILE, or set FORGEJO_FLEET_TOKEN_FILE (a file) or FORGEJO_FLEET_TOKEN (the token)',
    );
  });

  it.each([
    ['--token-file', { tokenFile: '/run/creds/token' }, {}],
    ['FORGEJO_FLEET_TOKEN_FILE', {}, { FORGEJO_FLEET_TOKEN_FILE: '/run/creds/token' }],
    ['FORGEJO_FLEET_TOKEN', {}, { FORGEJO_FLEET_TOKEN: 'the-token' }],
  ])('takes the token from %s, as the message says', (_way, connection, env) => {
    expect(connect(connection, io(env)).url).toBe('http://127.0.0.1:8080');
  });
});
