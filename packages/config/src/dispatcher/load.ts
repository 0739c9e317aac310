import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, fromZodIssues } from '../issues.js';
import { resolveSecrets } from '../resolve-secrets.js';
import type { Resolved } from '../secret.js';
import { readYaml } from '../yaml-file.js';
import { type CheckedDispatcherConfig, checkDispatcherConfig } from './checks.js';
import { DispatcherConfigShape } from './schema.js';

export type DispatcherConfig = Resolved<CheckedDispatcherConfig>;

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Loads, checks and resolves the dispatcher config; throws ConfigError listing every problem. */
export function loadDispatcherConfig(file: string, options: LoadOptions = {}): DispatcherConfig {
  const readFile = options.readFile ?? readText;
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    throw new ConfigError(file, [
      { path: [], message: `cannot read config file: ${(error as Error).message}` },
    ]);
  }
  return parseDispatcherConfig(text, { ...options, file, readFile });
}

export function parseDispatcherConfig(
  text: string,
  options: LoadOptions & { file: string; baseDir?: string },
): DispatcherConfig {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? dirname(resolve(options.file));
  const yaml = readYaml(text);
  if (!yaml.ok) throw new ConfigError(options.file, yaml.issues);
  const parsed = DispatcherConfigShape.safeParse(yaml.value);
  if (!parsed.success) {
    throw new ConfigError(
      options.file,
      fromZodIssues(parsed.error.issues, yaml.value, DispatcherConfigShape),
    );
  }
  const checked = checkDispatcherConfig(parsed.data);
  if (!checked.ok) throw new ConfigError(options.file, checked.issues);

  const issues: ConfigIssue[] = [];
  const config = resolveSecrets(
    checked.config,
    { env, readFile: options.readFile ?? readText, baseDir },
    issues,
    (path, node) =>
      path[0] === 'scopes' && path.length === 2 ? (node as { key: string }).key : (path.at(-1) ?? ''),
  );
  checkDistinctClientTokens(config, issues);
  if (issues.length > 0) throw new ConfigError(options.file, issues);

  const stateDir = env.STATE_DIRECTORY?.split(':')[0];
  const storePath = isAbsolute(config.store.path)
    ? config.store.path
    : join(stateDir !== undefined && stateDir !== '' ? stateDir : baseDir, config.store.path);
  return { ...config, store: { ...config.store, path: storePath } };
}

// Clients are told apart by their token; two with the same token would share each other's scopes.
function checkDistinctClientTokens(config: DispatcherConfig, issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  config.clients.forEach((client, i) => {
    const value = client.token?.reveal();
    if (value === undefined) return;
    const first = seen.get(value);
    if (first !== undefined) {
      issues.push({
        path: ['clients', i, 'token_file'],
        message: `same token as clients[${first}]; every client needs its own token`,
      });
    } else seen.set(value, i);
  });
}
