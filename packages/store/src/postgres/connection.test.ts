import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, StoreAccessError, StoreUnavailableError } from '../errors.js';
import { createPool, describeLocation, redactUrl } from './connection.js';
import { classify } from './errors.js';

const base = {
  poolMax: 1,
  statementTimeoutMs: 1_000,
  connectTimeoutMs: 1_000,
  tls: { mode: 'disable' },
} as const;

describe('the URL', () => {
  it.each([
    ['postgres://fleet:hunter2@db:5432/fleet', 'postgres://fleet:***@db:5432/fleet'],
    ['postgres://fleet@db/fleet', 'postgres://fleet@db/fleet'],
    ['not a url hunter2', '(an unparseable PostgreSQL URL)'],
  ])('redacts %s as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('is described by host, port, database and schema, without credentials', () => {
    expect(describeLocation('postgres://fleet:hunter2@db:5432/fleet', 't_1')).toBe(
      'postgres://db:5432/fleet (schema t_1)',
    );
    expect(describeLocation('postgres://fleet:hunter2@db/fleet')).toBe('postgres://db/fleet');
    // A missing `//` makes the user and password part of the path of a URL of another scheme.
    expect(describeLocation('fleet:hunter2@db/fleet')).toBe('(a URL that is not postgres://)');
    expect(describeLocation('mysql://u:hunter2@db/x')).toBe('(a URL that is not postgres://)');
  });

  it.each([
    ['not a URL', 'hunter2 is no url', 'url: not a URL'],
    ['another scheme', 'mysql://u:hunter2@db/x', 'url: expected a postgres:// URL, got mysql:'],
    [
      'TLS in the URL',
      'postgres://u:hunter2@db/x?sslmode=disable',
      'url: remove sslmode from the URL and set store.tls',
    ],
  ])('refuses %s before connecting, never echoing it', (_name, url, message) => {
    const refuse = () => createPool({ ...base, url });

    expect(refuse).toThrow(InvalidArgumentError);
    expect(refuse).toThrow(message);
    expect(refuse).not.toThrow(/hunter2/);
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createPool({ ...base, url: 'postgres://db/x', schema: 'x; DROP' })).toThrow(
      'schema: expected',
    );
  });

  it('names an unreadable CA file', () => {
    expect(() =>
      createPool({
        ...base,
        url: 'postgres://db/x',
        tls: { mode: 'verify-full', caFile: '/nonexistent/ca.pem' },
      }),
    ).toThrow('store.tls.ca_file /nonexistent/ca.pem cannot be read');
  });
});

function withCode(code: string, message = `failed with ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('classify', () => {
  it.each([
    ['disk full', '53100'],
    ['out of memory', '53200'],
    ['too many connections', '53300'],
    ['read-only transaction', '25006'],
    ['statement timeout', '57014'],
    ['lock timeout', '55P03'],
    ['admin shutdown', '57P01'],
    ['starting up', '57P03'],
    ['connection failure', '08006'],
    ['serialization failure', '40001'],
    ['deadlock', '40P01'],
    ['connection refused', 'ECONNREFUSED'],
    ['connection reset', 'ECONNRESET'],
  ])('makes %s (%s) StoreUnavailableError', (_name, code) => {
    const error = classify(withCode(code));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code, retryAfter: 5 });
  });

  it.each([
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['a pool wait past the timeout', new Error('timeout exceeded when trying to connect')],
    ['every address refused', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], '')],
  ])('makes %s StoreUnavailableError', (_name, error) => {
    expect(classify(error)).toBeInstanceOf(StoreUnavailableError);
  });

  it.each([
    ['a bad password', '28P01'],
    ['a role or host the server does not let in', '28000'],
    ['a database that does not exist', '3D000'],
    ['a self-signed server certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['a certificate for another host', 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ])('makes %s (%s) StoreAccessError: a settings problem, not transient', (_name, code) => {
    const error = classify(withCode(code, 'password authentication failed for user "fleet"'));

    expect(error).toBeInstanceOf(StoreAccessError);
    expect(error).not.toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({
      code,
      message: `the database refuses this store (${code}: password authentication failed for user "fleet"); check the URL's user, password and database, and store.tls`,
    });
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a syntax error', withCode('42601')],
    ['an error without a code', new Error('boom')],
    ['a non-error', 'boom'],
  ])('passes %s through unchanged', (_name, error) => {
    expect(classify(error)).toBe(error);
  });
});
