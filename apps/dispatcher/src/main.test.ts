import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '@forgejo-fleet/store';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const UNIT = fileURLToPath(
  new URL('../../../deploy/systemd/forgejo-fleet-dispatcher.service', import.meta.url),
);
const ENV = { ...process.env, FT: 'forgejo-token', CT: 'client-token-0123456789' };

let dir: string;
let config: string;
let store: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-main-'));
  store = join(dir, 'fleet.db');
  config = join(dir, 'dispatcher.yaml');
  writeFileSync(
    config,
    `
fleet_id: main-test
listen: { host: 127.0.0.1, port: 0 }
log: { level: info }
store: { path: ${store}, decision_log: ${join(dir, 'decisions.jsonl')} }
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
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(): ChildProcess & { output: () => string } {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', MAIN, '--config', config],
    {
      env: ENV,
    },
  );
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return Object.assign(child, { output: () => output });
}

function listening(child: ReturnType<typeof start>): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', () => {
      if (child.output().includes('dispatcher listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${child.output()}`)));
  });
}

function exit(child: ReturnType<typeof start>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** The exit codes the shipped unit never restarts on. */
function noRestartCodes(): string[] {
  return readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('RestartPreventExitStatus='))
    .flatMap((line) => line.slice('RestartPreventExitStatus='.length).split(/\s+/));
}

describe('forgejo-fleet-dispatcher on a store it cannot own', () => {
  it('a second dispatcher on the same store exits 69 naming the holder; the unit does not restart it', async () => {
    const first = start();
    await listening(first);

    const second = await exit(start());

    expect(second.code).toBe(69);
    expect(second.stderr).toMatch(
      new RegExp(
        `^forgejo-fleet-dispatcher: store ${store} is in use by pid ${first.pid} on host ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[^;]+; stop that dispatcher or point this one at another store\\n$`,
      ),
    );
    expect(noRestartCodes()).toContain('69');
  });

  it('a store that is not a database exits 65 naming the file; the unit does not restart it', async () => {
    writeFileSync(store, 'garbage, not SQLite '.repeat(500));

    const result = await exit(start());

    expect(result.code).toBe(65);
    expect(result.stderr).toContain(`store ${store} cannot be read (SQLITE_NOTADB`);
    expect(result.stderr).toContain('restore it from a backup, or move it away');
    expect(noRestartCodes()).toContain('65');
  });

  it('a store with a newer schema exits 65 and says to upgrade', async () => {
    await openSqliteStore(store).close();
    const db = new Database(store);
    db.pragma('user_version = 99');
    db.close();

    const result = await exit(start());

    expect(result.code).toBe(65);
    expect(result.stderr).toContain(`store ${store}: schema version 99 is newer than the`);
    expect(result.stderr).toContain('upgrade forgejo-fleet');
  });
});

describe('forgejo-fleet-dispatcher on a port it cannot have', () => {
  it('exits 1 naming the listener and the address, without a stack trace, and frees the store', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    writeFileSync(config, readFileSync(config, 'utf8').replace('port: 0', `port: ${port}`));

    const result = await exit(start());
    holder.close();

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `forgejo-fleet-dispatcher: listen: cannot listen on 127.0.0.1:${port}: the address is in use`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(noRestartCodes()).not.toContain('1');
    // The store it had opened was closed again: another dispatcher takes it at once.
    const store2 = openSqliteStore(store, { lock: true });
    await store2.close();
  });
});
