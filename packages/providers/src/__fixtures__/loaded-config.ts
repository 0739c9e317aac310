import { type Resolved, Secret, SecretRef } from '@forgejo-fleet/runtime/config';
import { parse } from 'yaml';
import { type AnyProviderConfig, providerSchemas } from '../schemas.js';

/**
 * What the config loader does to a provider entry, for tests of this package (which does not
 * depend on the config package): parse with the kind's own schema, then read its secrets, env
 * names from `env` and files as the text `secret:<path>`.
 */
export function loadedProvider(
  entry: unknown,
  env: Readonly<Record<string, string>> = {},
): AnyProviderConfig {
  return readSecrets(schemaOf(entry).options.parse(entry), env);
}

/** A scope's `providers.<name>` override for a provider of `kind`, parsed and its secrets read. */
export function loadedOverride(
  kind: string,
  override: unknown,
  env: Readonly<Record<string, string>> = {},
): unknown {
  return readSecrets(schemaOf({ kind }).credentials.parse(override), env);
}

/** An entry written as YAML, as in a config file. */
export function loadedProviderYaml(
  text: string,
  env: Readonly<Record<string, string>> = {},
): AnyProviderConfig {
  return loadedProvider(parse(text), env);
}

function schemaOf(entry: unknown) {
  const kind = entry !== null && typeof entry === 'object' && 'kind' in entry ? entry.kind : undefined;
  const schema = providerSchemas.find((s) => s.kind === kind);
  if (schema === undefined) throw new Error(`no provider kind ${String(kind)}`);
  return schema;
}

function readSecrets<T>(value: T, env: Readonly<Record<string, string>>): Resolved<T> {
  function walk(node: unknown): unknown {
    if (node instanceof SecretRef) {
      if (node.file !== undefined) return new Secret(`secret:${node.file}`, `file:${node.file}`);
      const text = env[node.env ?? ''];
      if (text === undefined) throw new Error(`test env has no ${node.env}`);
      return new Secret(text, `env:${node.env}`);
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
  }
  // The walk replaces every SecretRef by a Secret, which is what Resolved<T> says.
  return walk(value) as Resolved<T>;
}
