/**
 * The PostgreSQL a benchmark runs on: BENCH_PG_URL when set (an empty database the run may fill
 * and leaves behind), else a throwaway cluster of its own from scripts/dev/postgres.sh (fsync off,
 * 127.0.0.1), stopped and deleted by `close`. Without PostgreSQL on the machine it answers
 * undefined with the line that says how to enable it, and the caller skips.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../dev/postgres.sh', import.meta.url));

export interface BenchDatabase {
  readonly url: string;
  /** What the figures were measured on, for the result file. */
  readonly where: string;
  close(): Promise<void>;
}

export type BenchDatabaseResult = BenchDatabase | { readonly skipped: string };

const Started = z.object({
  FORGEJO_FLEET_TEST_PG_URL: z.string().url(),
  FORGEJO_FLEET_TEST_PG_DIR: z.string().min(1),
});

export async function benchDatabase(env: NodeJS.ProcessEnv = process.env): Promise<BenchDatabaseResult> {
  const given = env.BENCH_PG_URL;
  if (given !== undefined && given !== '') {
    const url = z.string().url().safeParse(given);
    if (!url.success) throw new Error('BENCH_PG_URL: expected a postgres:// URL');
    return { url: url.data, where: 'BENCH_PG_URL', close: async () => undefined };
  }
  // Its own state file: a cluster someone else started with the script stays theirs.
  const state = mkdtempSync(join(tmpdir(), 'fleet-bench-pg-'));
  let stdout: string;
  try {
    ({ stdout } = await run(SCRIPT, ['start'], {
      env: { ...env, FORGEJO_FLEET_PG_STATE: join(state, 'dir') },
    }));
  } catch (error) {
    rmSync(state, { recursive: true, force: true });
    const reason = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return {
      skipped: `no PostgreSQL (${reason}); install Debian's postgresql package or set BENCH_PG_URL to an empty database`,
    };
  }
  const exports = Object.fromEntries(
    [...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
  const started = Started.parse(exports);
  return {
    url: started.FORGEJO_FLEET_TEST_PG_URL,
    where: 'throwaway cluster (scripts/dev/postgres.sh: 127.0.0.1, fsync off)',
    async close() {
      await run(SCRIPT, ['stop', started.FORGEJO_FLEET_TEST_PG_DIR]);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
