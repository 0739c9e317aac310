/**
 * The PostgreSQL of an HA chaos run: a throwaway cluster of scripts/dev/postgres.sh (the one path
 * CI and developers use), one fresh database per run, and the restart the run injects. A restart
 * cuts every connection of every client of the cluster, so a run restarts only a cluster it
 * started itself, or one the caller names as its own (`FORGEJO_FLEET_TEST_PG_DIR`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/dev/postgres.sh', import.meta.url));

export interface ChaosPostgres {
  /** postgres://user@127.0.0.1:port/database of this run's fresh database. */
  readonly url: string;
  /** pg_ctl restart (fast shutdown: every connection is cut), waiting until it takes connections again. */
  restart(): Promise<void>;
  /** Drops the run's database, and stops the cluster if the run started it. */
  close(): Promise<void>;
}

/** The cluster's bin directory, found as scripts/dev/postgres.sh finds it. */
function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const last = versions.at(-1);
  // Without Debian's layout, the tools must be on PATH.
  return last === undefined ? '' : join(base, last, 'bin');
}

function tool(name: string): string {
  const dir = binDir();
  return dir === '' ? name : join(dir, name);
}

/** The cluster's owner runs its tools: root hands them to the `postgres` user, as postgres.sh does. */
function asOwner(command: string, args: readonly string[]): Promise<{ stdout: string }> {
  const isRoot = process.getuid?.() === 0;
  return isRoot
    ? run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 120_000 })
    : run(command, [...args], { timeout: 120_000 });
}

function exported(output: string, name: string): string {
  const value = new RegExp(`^export ${name}=(.*)$`, 'm').exec(output)?.[1];
  if (value === undefined) throw new Error(`scripts/dev/postgres.sh start printed no ${name}`);
  return value;
}

/**
 * A fresh database on `given` (a cluster the caller owns: URL and directory), or on a cluster of
 * its own started now (scripts/dev/postgres.sh with a state file of its own, so it never touches
 * another cluster).
 */
export async function openChaosPostgres(given?: { url: string; dir: string }): Promise<ChaosPostgres> {
  let base = given;
  let stateFile: string | undefined;
  if (base === undefined) {
    stateFile = join(tmpdir(), `forgejo-fleet-chaos-ha-${randomBytes(4).toString('hex')}.pg`);
    const { stdout } = await run('bash', [SCRIPT, 'start'], {
      env: { ...process.env, FORGEJO_FLEET_PG_STATE: stateFile },
      timeout: 120_000,
    });
    base = {
      url: exported(stdout, 'FORGEJO_FLEET_TEST_PG_URL'),
      dir: exported(stdout, 'FORGEJO_FLEET_TEST_PG_DIR'),
    };
  }
  const { url: baseUrl, dir } = base;
  const server = new URL(baseUrl);
  const database = `chaos_ha_${randomBytes(5).toString('hex')}`;
  const connect = ['-h', server.hostname, '-p', server.port, '-U', decodeURIComponent(server.username)];
  await asOwner(tool('createdb'), [...connect, database]);
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    async restart() {
      // -l: without a log file the new server would hold this call's stdout open. The server's
      // options (port, socket, fsync) come back from postmaster.opts.
      await asOwner(tool('pg_ctl'), [
        '-D',
        join(dir, 'data'),
        '-l',
        join(dir, 'server.log'),
        '-m',
        'fast',
        '-w',
        '-t',
        '60',
        'restart',
      ]);
    },
    async close() {
      if (stateFile !== undefined) {
        await run('bash', [SCRIPT, 'stop', dir], {
          env: { ...process.env, FORGEJO_FLEET_PG_STATE: stateFile },
          timeout: 60_000,
        });
        rmSync(stateFile, { force: true });
        return;
      }
      await asOwner(tool('dropdb'), [...connect, '--if-exists', '--force', database]);
    },
  };
}
