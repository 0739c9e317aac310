import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePostgres } from '@forgejo-fleet/store/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const UNIT = fileURLToPath(
  new URL('../../../deploy/systemd/forgejo-fleet-dispatcher.service', import.meta.url),
);
const PASSWORD = 'hunter2-not-logged';

let dir: string;
const servers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-main-pg-'));
});

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the real main with a PostgreSQL store whose URL is `$PG_URL`; resolves at its exit. */
function run(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const config = join(dir, 'dispatcher.yaml');
  writeFileSync(
    config,
    `
fleet_id: main-test
listen: { host: 127.0.0.1, port: 0 }
store: { kind: postgres, url_env: PG_URL, tls: { mode: disable }, decision_log: ${join(dir, 'd.jsonl')} }
forgejo: { api_url: 'http://127.0.0.1:9', instance_url: 'https://git.example.com', token_env: FT }
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
  - { name: small, labels: [linux], providers: [cloud] }
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
  );
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', MAIN, '--config', config],
    {
      env: { ...process.env, FT: 'forgejo-token', CT: 'client-token-0123456789', PG_URL: url },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function noRestartCodes(): string[] {
  return readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('RestartPreventExitStatus='))
    .flatMap((line) => line.slice('RestartPreventExitStatus='.length).split(/\s+/));
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** One backend message: a type byte, an int32 length (itself included), the body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * A server that speaks the start of PostgreSQL's protocol (v3) as a server with `password`
 * authentication does when the password is wrong: it asks for the password
 * (AuthenticationCleartextPassword), reads the client's PasswordMessage, and answers with the
 * FATAL ErrorResponse PostgreSQL sends, SQLSTATE 28P01, then closes.
 */
function wrongPasswordServer(): Server {
  return createServer((socket: Socket) => {
    let buffered = Buffer.alloc(0);
    let stage: 'startup' | 'password' = 'startup';
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      // The startup message has no type byte; every later one has.
      const offset = stage === 'startup' ? 0 : 1;
      if (buffered.length < offset + 4) return;
      const length = buffered.readInt32BE(offset);
      if (buffered.length < offset + length) return;
      buffered = buffered.subarray(offset + length);
      if (stage === 'startup') {
        stage = 'password';
        const cleartext = Buffer.alloc(4);
        cleartext.writeInt32BE(3);
        socket.write(message('R', cleartext));
        return;
      }
      const fields = (pairs: [string, string][]) =>
        Buffer.concat([...pairs.map(([key, value]) => Buffer.from(`${key}${value}\0`)), Buffer.from([0])]);
      socket.end(
        message(
          'E',
          fields([
            ['S', 'FATAL'],
            ['V', 'FATAL'],
            ['C', '28P01'],
            ['M', 'password authentication failed for user "fleet"'],
            ['F', 'auth.c'],
            ['L', '323'],
            ['R', 'auth_failed'],
          ]),
        ),
      );
    });
  });
}

describe('forgejo-fleet-dispatcher on a PostgreSQL store it cannot open', () => {
  it('an unreachable server exits 75 with one line naming it; the unit restarts it', async () => {
    const port = await listen(createServer());
    await new Promise((resolve) => servers.pop()?.close(resolve));

    const result = await run(`postgres://fleet:${PASSWORD}@127.0.0.1:${port}/fleet`);

    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(
      new RegExp(
        `^forgejo-fleet-dispatcher: store postgres://127\\.0\\.0\\.1:${port}/fleet is unreachable: the store cannot take writes right now \\(ECONNREFUSED: [^\\n]+\\); exiting 75 to be restarted\\n$`,
      ),
    );
    expect(noRestartCodes()).not.toContain('75');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('a wrong password (28P01) exits 78 with one line: a settings problem, not retried', async () => {
    const port = await listen(wrongPasswordServer());

    const result = await run(`postgres://fleet:${PASSWORD}@127.0.0.1:${port}/fleet`);

    expect(result.code).toBe(78);
    expect(result.stderr).toBe(
      `forgejo-fleet-dispatcher: store postgres://127.0.0.1:${port}/fleet: the database refuses this store (28P01: password authentication failed for user "fleet"); check the URL's user, password and database, and store.tls\n`,
    );
    expect(noRestartCodes()).toContain('78');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('a URL that is not one exits 78 naming where it came from, never echoing it', async () => {
    const result = await run(`fleet:${PASSWORD}@db.internal/fleet`);

    expect(result.code).toBe(78);
    expect(result.stderr).toBe(
      'forgejo-fleet-dispatcher: store (a URL that is not postgres://): store.url from env:PG_URL: url: expected a postgres:// URL, got fleet://…\n',
    );
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});

describePostgres('forgejo-fleet-dispatcher on a real PostgreSQL that refuses it', (db) => {
  it('a database that does not exist (3D000) exits 78 with one line', async () => {
    const url = new URL(db.url);
    url.pathname = '/no_such_database';

    const result = await run(url.toString());

    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(
      /^forgejo-fleet-dispatcher: store postgres:\/\/[^/]+\/no_such_database: the database refuses this store \(3D000: database "no_such_database" does not exist\); check the URL's user, password and database, and store\.tls\n$/,
    );
  });
});
