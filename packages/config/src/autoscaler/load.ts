import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LoadOptions } from '../dispatcher/load.js';
import { ConfigError, type ConfigIssue, fromZodIssues } from '../issues.js';
import { resolveSecrets } from '../resolve-secrets.js';
import type { Resolved } from '../secret.js';
import { readYaml } from '../yaml-file.js';
import { type CheckedAutoscalerConfig, checkAutoscalerConfig } from './checks.js';
import { AutoscalerConfigShape } from './schema.js';

export type AutoscalerConfig = Resolved<CheckedAutoscalerConfig>;

/** Loads, checks and resolves the autoscaler config; throws ConfigError listing every problem. */
export function loadAutoscalerConfig(file: string, options: LoadOptions = {}): AutoscalerConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    throw new ConfigError(file, [
      { path: [], message: `cannot read config file: ${(error as Error).message}` },
    ]);
  }
  return parseAutoscalerConfig(text, { ...options, file, readFile });
}

export function parseAutoscalerConfig(
  text: string,
  options: LoadOptions & { file: string; baseDir?: string },
): AutoscalerConfig {
  const yaml = readYaml(text);
  if (!yaml.ok) throw new ConfigError(options.file, yaml.issues);
  const parsed = AutoscalerConfigShape.safeParse(yaml.value);
  if (!parsed.success) {
    throw new ConfigError(
      options.file,
      fromZodIssues(parsed.error.issues, yaml.value, AutoscalerConfigShape),
    );
  }
  const checked = checkAutoscalerConfig(parsed.data);
  if (!checked.ok) throw new ConfigError(options.file, checked.issues);
  const issues: ConfigIssue[] = [];
  const config = resolveSecrets(
    checked.config,
    {
      env: options.env ?? process.env,
      readFile: options.readFile ?? ((path: string) => readFileSync(path, 'utf8')),
      baseDir: options.baseDir ?? dirname(resolve(options.file)),
    },
    issues,
    (path, node) =>
      path[0] === 'scopes' && path.length === 2 ? (node as { key: string }).key : (path.at(-1) ?? ''),
  );
  if (issues.length > 0) throw new ConfigError(options.file, issues);
  return config;
}
