import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ConfigIssue } from '../issues.js';
import { type LoadOptions, type ParseOptions, parseConfig, readConfigText } from '../load-file.js';
import type { Resolved } from '../secret.js';
import { type CheckedDispatcherConfig, checkDispatcherConfig } from './checks.js';
import { DispatcherConfigShape } from './schema.js';

export type DispatcherConfig = Resolved<CheckedDispatcherConfig>;
export type { LoadOptions };

const pipeline = {
  schema: DispatcherConfigShape,
  check: checkDispatcherConfig,
  afterSecrets: checkDistinctClientTokens,
};

/** Loads, checks and resolves the dispatcher config; throws ConfigError listing every problem. */
export function loadDispatcherConfig(file: string, options: LoadOptions = {}): DispatcherConfig {
  return parseDispatcherConfig(readConfigText(file, options.readFile), { ...options, file });
}

export function parseDispatcherConfig(text: string, options: ParseOptions): DispatcherConfig {
  const config = parseConfig(pipeline, text, options);
  const env = options.env ?? process.env;
  const stateDir = env.STATE_DIRECTORY?.split(':')[0];
  const base =
    stateDir !== undefined && stateDir !== ''
      ? stateDir
      : (options.baseDir ?? dirname(resolve(options.file)));
  const under = (file: string) => (isAbsolute(file) ? file : join(base, file));
  return {
    ...config,
    store: {
      ...config.store,
      path: under(config.store.path),
      decision_log: under(config.store.decision_log),
    },
  };
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
