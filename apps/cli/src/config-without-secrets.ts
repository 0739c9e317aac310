import { readFileSync } from 'node:fs';
import type { LoadOptions } from '@forgejo-fleet/config';
import type { CliIo } from './io.js';

// Paths and the store location still come from the environment; only secret lookups are faked.
const NOT_SECRETS = new Set(['CREDENTIALS_DIRECTORY', 'STATE_DIRECTORY']);

/**
 * Load options for `file` that answer every secret lookup with a stand-in naming where it would
 * come from: the loaders then run every other check unchanged, and two references to one source
 * still get one value (so "same token as clients[0]" is reported without reading either). The
 * config file itself is read for real. For the commands that need no secret (`validate-config
 * --no-secrets`, `render-user-data`), so they run where the secrets are not.
 */
export function withoutSecrets(io: CliIo, file: string): LoadOptions {
  const read = io.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const env = new Proxy(io.env, {
    get: (target, name) =>
      typeof name !== 'string' || NOT_SECRETS.has(name) ? Reflect.get(target, name) : `unchecked env:${name}`,
  });
  return { env, readFile: (path) => (path === file ? read(path) : `unchecked file:${path}`) };
}
