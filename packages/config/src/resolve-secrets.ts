import { type Resolved, Secret, SecretRef } from '@forgejo-fleet/runtime/config';
import type { ConfigIssue, ConfigPath } from './issues.js';
import { resolveSecret, SecretError, type SecretSources } from './secret.js';

/**
 * Reads every secret a checked config refers to and returns a copy holding `Secret`s. A ref
 * shared by several places (the default Forgejo token) is read once and reported once.
 * `pathOf` lets callers map a list index back to the key the operator wrote.
 */
export function resolveSecrets<T>(
  value: T,
  sources: SecretSources,
  issues: ConfigIssue[],
  pathOf: (path: ConfigPath, node: unknown) => string | number = (path) => path[path.length - 1] ?? '',
): Resolved<T> {
  const cache = new Map<SecretRef, Secret | undefined>();
  function walk(node: unknown, path: (string | number)[]): unknown {
    if (node instanceof SecretRef) {
      if (!cache.has(node)) cache.set(node, read(node, path));
      return cache.get(node);
    }
    if (node instanceof Secret || node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) {
      return node.map((item, i) => walk(item, [...path, pathOf([...path, i], item)]));
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) out[key] = walk(child, [...path, key]);
    return out;
  }
  function read(ref: SecretRef, path: (string | number)[]): Secret | undefined {
    try {
      return resolveSecret(ref, sources);
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      issues.push({ path: secretPath(path, ref), message: error.message });
      return undefined;
    }
  }
  return walk(value, []) as Resolved<T>;
}

// Point at the key the operator wrote: `token` came from `token_file` or `token_env`.
function secretPath(path: (string | number)[], ref: SecretRef): (string | number)[] {
  const last = path[path.length - 1];
  if (typeof last !== 'string' || last !== last.toLowerCase()) return path;
  return [...path.slice(0, -1), `${last}_${ref.file !== undefined ? 'file' : 'env'}`];
}
