import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { T0 } from './__fixtures__/dispatch.js';
import { StoreLockedError } from './errors.js';
import { lockStore, readHolder, type StoreLock } from './lock.js';

const CHILD = fileURLToPath(new URL('./__fixtures__/hold-lock.ts', import.meta.url));
const NODE_ARGS = ['--conditions=source', '--import', 'tsx', CHILD];

let dir: string;
let path: string;
const held: StoreLock[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'forgejo-fleet-lock-'));
  path = join(dir, 'fleet.sqlite');
});

afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function take(options: Parameters<typeof lockStore>[1] = {}): StoreLock {
  const lock = lockStore(path, options);
  held.push(lock);
  return lock;
}

function refusal(): StoreLockedError {
  try {
    take();
  } catch (error) {
    if (error instanceof StoreLockedError) return error;
    throw error;
  }
  throw new Error('the lock was granted twice');
}

describe('lockStore', () => {
  it('refuses a second holder in the same process, naming the first', () => {
    take({ pid: 4242, host: 'ci-1', now: () => T0 });

    const error = refusal();

    expect(error.holder).toEqual({ pid: 4242, host: 'ci-1', since: T0 });
    expect(error.message).toBe(
      `store ${path} is in use by pid 4242 on host ci-1 since 2025-01-01T00:00:00.000Z; ` +
        'stop that dispatcher or point this one at another store',
    );
  });

  it('is free again once released, and the side file names the new holder', () => {
    take({ pid: 1, host: 'a' }).release();

    take({ pid: 2, host: 'b', now: () => T0 });

    expect(readHolder(`${path}.owner`)).toEqual({ pid: 2, host: 'b', since: T0 });
  });

  it('refuses while another process holds it, naming that process', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, path, 'hold']);
    children.push(child);
    await firstLine(child);

    const error = refusal();

    expect(error.holder).toMatchObject({ pid: child.pid, host: 'child-host' });
  });

  it('dies with its process: a SIGKILLed holder never blocks the next start', () => {
    const child = spawnSync(process.execPath, [...NODE_ARGS, path, 'crash'], { encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).toBe('locked\n');

    const lock = take({ pid: 7, host: 'next' });

    expect(lock.holder).toMatchObject({ pid: 7, host: 'next' });
  });

  it.each([
    ['missing', undefined],
    ['not JSON', 'pid=1'],
    ['wrong shape', JSON.stringify({ pid: -1, host: 'x', since: 0 })],
  ])('reads no holder from a %s side file', (_name, text) => {
    if (text !== undefined) writeFileSync(`${path}.owner`, text);

    expect(readHolder(`${path}.owner`)).toBeUndefined();
  });
});

function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} before locking: ${out}`)));
  });
}
