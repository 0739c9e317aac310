import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type CloudInitSchemaResult = { ok: boolean; output: string };

function run(command: string, args: string[], signal?: AbortSignal) {
  return new Promise<{ code: number | 'missing'; output: string }>((resolve, reject) => {
    execFile(command, args, { timeout: 60_000, ...(signal ? { signal } : {}) }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (error === null) return resolve({ code: 0, output });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ code: 'missing', output });
      if (typeof error.code === 'number') return resolve({ code: error.code, output });
      reject(error);
    });
  });
}

/**
 * Checks user-data against the local cloud-init's schema (`cloud-init schema --config-file`).
 * Returns 'unavailable' when cloud-init is not on PATH. Feed it renderings made with
 * PLACEHOLDER_TOKEN: cloud-init's messages may quote values, and the temporary copy is a file.
 */
export async function validateWithCloudInit(
  text: string,
  options: { command?: string; signal?: AbortSignal } = {},
): Promise<CloudInitSchemaResult | 'unavailable'> {
  const dir = await mkdtemp(join(tmpdir(), 'forgejo-fleet-user-data-'));
  try {
    const file = join(dir, 'user-data.yaml');
    await writeFile(file, text, { mode: 0o600 });
    const result = await run(
      options.command ?? 'cloud-init',
      ['schema', '--config-file', file],
      options.signal,
    );
    if (result.code === 'missing') return 'unavailable';
    return { ok: result.code === 0, output: result.output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
