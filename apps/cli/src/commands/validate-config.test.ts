import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { validateConfig } from './validate-config.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const DISPATCHER = `${root}config.example.yaml`;
const AUTOSCALER = `${root}autoscaler.example.yaml`;

const SMALL = `
fleet_id: cli-test
listen: { host: 127.0.0.1, port: 0 }
store: { path: fleet.db, decision_log: decisions.jsonl }
forgejo: { api_url: 'http://127.0.0.1:9', instance_url: 'https://git.example.com', token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
`;

/** Runs validate-config with every file read recorded; `files` answers reads of those paths. */
function run(argv: string[], files: Record<string, string> = {}) {
  const reads: string[] = [];
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env: {},
    readFile: (path) => {
      reads.push(path);
      const text = files[path] ?? readFileSync(path, 'utf8');
      return text;
    },
  };
  const code = validateConfig(argv, io);
  return { code, ...out, reads };
}

describe('validate-config --no-secrets', () => {
  it.each([
    ['dispatcher', DISPATCHER],
    ['autoscaler', AUTOSCALER],
  ])('accepts the %s example on a fresh clone, reading only the config file', (kind, file) => {
    const result = run([`--${kind}`, file, '--no-secrets']);

    expect(result).toEqual({ code: 0, stdout: 'ok (secrets not read)\n', stderr: '', reads: [file] });
  });

  it('without it the same example fails on the missing secret files', () => {
    const result = run(['--dispatcher', DISPATCHER]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('forgejo.token_file: cannot read secret file');
  });

  it('still reports everything that is not a secret', () => {
    const file = '/cfg/bad.yaml';
    const result = run(['--dispatcher', file, '--no-secrets'], {
      [file]: `${SMALL}  - { name: ci, token_env: CT, scopes: ['*'] }\nrutes: []\n`,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: rutes: unknown key (did you mean "routes"?)`);
  });

  it.each([
    ['file', 'token_file: shared', 'token_file'],
    ['variable', 'token_env: SHARED', 'token_env'],
  ])('still reports two clients that take their token from one %s', (_, source, key) => {
    const file = '/cfg/dup.yaml';
    const clients = `  - { name: a, ${source}, scopes: ['*'] }\n  - { name: b, ${source}, scopes: ['*'] }\n`;

    const result = run(['--dispatcher', file, '--no-secrets'], { [file]: `${SMALL}${clients}` });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: clients[1].${key}: same token as clients[0]`);
    expect(result.reads).toEqual([file]);
  });

  it('rejects an unknown flag as a usage error', () => {
    expect(() => run(['--dispatcher', DISPATCHER, '--no-secret'])).toThrow("Unknown option '--no-secret'");
  });
});

describe('validate-config: the PostgreSQL store URL, held to the store rules', () => {
  const file = '/cfg/pg.yaml';
  const config = `${SMALL.replace(
    'store: { path: fleet.db, decision_log: decisions.jsonl }',
    'store: { kind: postgres, url_env: PG_URL, tls: { mode: disable } }',
  )}  - { name: ci, token_env: CT, scopes: ['*'] }\n`;

  function withUrl(url: string, flags: string[] = []) {
    const out = { stdout: '', stderr: '' };
    const code = validateConfig(['--dispatcher', file, ...flags], {
      stdout: (text) => {
        out.stdout += text;
      },
      stderr: (text) => {
        out.stderr += text;
      },
      env: { FT: 'forgejo-token', CT: 'client-token-0123456789', PG_URL: url },
      readFile: () => config,
    });
    return { code, ...out };
  }

  it('accepts a postgres:// URL', () => {
    expect(withUrl('postgres://fleet:hunter2@127.0.0.1:5432/fleet')).toEqual({
      code: 0,
      stdout: 'ok\n',
      stderr: '',
    });
  });

  it.each([
    [
      'postgres://fleet:hunter2@db/fleet?sslmode=disable',
      'remove sslmode from the URL and set store.tls instead',
    ],
    ['//fleet:hunter2@db/fleet', 'not a URL; expected postgres://user:password@host:port/database'],
    ['mysql://fleet:hunter2@db/fleet', 'expected a postgres:// URL, got mysql://…'],
  ])('refuses %j as the dispatcher would at start, without echoing it', (url, problem) => {
    const result = withUrl(url);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: store.url (from env:PG_URL): ${problem}`);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('leaves the URL alone with --no-secrets (it is not read)', () => {
    expect(withUrl('mysql://fleet:hunter2@db/fleet', ['--no-secrets']).code).toBe(0);
  });
});
