import { isAbsolute, join } from 'node:path';
import { Secret, type SecretRef } from '@forgejo-fleet/runtime/config';

export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => string;
  /** Directory for the config file itself, for relative paths when no credentials directory is set. */
  readonly baseDir: string;
}

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

/** Resolves a secret reference; throws SecretError with a message that never contains the value. */
export function resolveSecret(ref: SecretRef, sources: SecretSources): Secret {
  if (ref.env !== undefined) {
    const value = sources.env[ref.env];
    if (value === undefined || value.trim() === '') {
      throw new SecretError(`environment variable ${ref.env} is not set or empty`);
    }
    return new Secret(value.trim(), `env:${ref.env}`);
  }
  const path = resolveSecretPath(ref.file ?? '', sources);
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const hint =
      code === 'ENOENT'
        ? 'file does not exist'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : code;
    throw new SecretError(`cannot read secret file ${path}: ${hint}`);
  }
  const value = text.trim();
  if (value === '') throw new SecretError(`secret file ${path} is empty`);
  return new Secret(value, `file:${path}`);
}

/** Relative paths resolve against $CREDENTIALS_DIRECTORY (systemd LoadCredential=) when set. */
export function resolveSecretPath(file: string, sources: SecretSources): string {
  if (isAbsolute(file)) return file;
  const credentials = sources.env.CREDENTIALS_DIRECTORY;
  return join(credentials && credentials !== '' ? credentials : sources.baseDir, file);
}
