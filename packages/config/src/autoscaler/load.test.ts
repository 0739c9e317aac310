import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../issues.js';
import { parseAutoscalerConfig } from './load.js';

function base(): Record<string, unknown> {
  return {
    forgejo: { api_url: 'http://127.0.0.1:3000' },
    dispatcher: { url: 'http://127.0.0.1:8080', token_file: 'dispatcher' },
    scopes: { 'org:acme': { token_file: 'acme' } },
  };
}

function load(doc: Record<string, unknown>) {
  return parseAutoscalerConfig(stringify(doc), {
    file: 'autoscaler.yaml',
    env: { CREDENTIALS_DIRECTORY: '/creds' },
    readFile: (path) => {
      if (path === '/creds/missing') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return `value-of-${path}`;
    },
  });
}

function errorsOf(doc: Record<string, unknown>): string {
  try {
    load(doc);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('autoscaler config', () => {
  it('applies poll defaults and reads per-scope tokens', () => {
    const config = load(base());
    expect(config.poll).toEqual({
      interval: 5_000,
      jitter: 0.2,
      fast_interval: 1_000,
      fast_window: 60_000,
      max_backoff: 120_000,
    });
    expect(config.scopes[0]?.token.reveal()).toBe('value-of-/creds/acme');
    expect(config.scopes[0]?.webhook.manage).toBe(false);
  });

  it.each([
    [
      'webhook management without a receiver',
      { scopes: { 'org:acme': { token_file: 'acme', webhook: { manage: true } } } },
      'scopes["org:acme"].webhook.manage: needs the top-level webhook section',
    ],
    ['scope without a token', { scopes: { 'org:acme': {} } }, 'scopes["org:acme"].token_file: required'],
    [
      'unreadable token',
      { scopes: { 'org:acme': { token_file: 'missing' } } },
      'scopes["org:acme"].token_file: cannot read secret file /creds/missing',
    ],
    [
      'inline webhook secret',
      {
        webhook: {
          listen: { port: 8081 },
          public_url: 'http://127.0.0.1:8081/',
          secret: 'x',
          secret_file: 'w',
        },
      },
      'webhook.secret: secrets may not be written inline',
    ],
    ['jitter too large', { poll: { jitter: 2 } }, 'poll.jitter: '],
    ['bad poll interval', { poll: { interval: 'often' } }, 'poll.interval: invalid duration "often"'],
    ['no scopes', { scopes: {} }, 'scopes: expected at least one scope'],
    ['unknown key', { pol: {} }, 'pol: unknown key (did you mean "poll"?)'],
  ])('%s', (_name, change, expected) => {
    expect(errorsOf({ ...base(), ...change })).toContain(`autoscaler.yaml: ${expected}`);
  });
});
