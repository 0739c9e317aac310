/** What a command may touch, injected so commands run in tests without a process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

/** Exit codes: 0 ok, 2 invalid config (what `validate-config` promises), 64 usage error (sysexits EX_USAGE). */
export const EXIT = { ok: 0, failure: 1, invalidConfig: 2, usage: 64 } as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What the config loaders take from the CLI's environment (readFile only when injected). */
export function configLoadOptions(io: CliIo): { env: CliIo['env']; readFile?: (path: string) => string } {
  return io.readFile ? { env: io.env, readFile: io.readFile } : { env: io.env };
}
