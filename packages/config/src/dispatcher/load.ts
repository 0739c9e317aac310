import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Resolved, Secret } from '@forgejo-fleet/runtime/config';
import type { ConfigIssue } from '../issues.js';
import { type LoadOptions, type ParseOptions, parseConfig, readConfigText } from '../load-file.js';
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

// Clients are told apart by their token; two with the same token would share each other's scopes,
// and an ops token that is also a client's would let that client's holder into /metrics and back.
// Checked after the secrets are read (they come from files); the message never prints a token.
function checkDistinctClientTokens(config: DispatcherConfig, issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  config.clients.forEach((client, i) => {
    const value = client.token?.reveal();
    if (value === undefined) return;
    const first = seen.get(value);
    if (first !== undefined) {
      issues.push({
        path: ['clients', i, secretKey('token', client.token)],
        message: `same token as clients[${first}]; every client needs its own token`,
      });
    } else seen.set(value, i);
  });
  const ops = config.ops?.token;
  const client = ops === undefined ? undefined : seen.get(ops.reveal());
  if (ops !== undefined && client !== undefined) {
    issues.push({
      path: ['ops', secretKey('token', ops)],
      message: `same token as clients[${client}]; the ops token must be one no API client holds`,
    });
  }
}

/** The key the operator wrote for a resolved secret: `token_file` or `token_env`. */
function secretKey(name: string, secret: Secret | undefined): string {
  return `${name}_${secret?.source.startsWith('env:') ? 'env' : 'file'}`;
}
