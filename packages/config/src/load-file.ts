import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Resolved } from '@forgejo-fleet/runtime/config';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue, fromZodIssues } from './issues.js';
import { resolveSecrets } from './resolve-secrets.js';
import type { SecretSources } from './secret.js';
import { readYaml } from './yaml-file.js';

export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

export interface ParseOptions extends LoadOptions {
  /** Named in every error line. */
  readonly file: string;
  /** Base for relative secret paths when $CREDENTIALS_DIRECTORY is unset; defaults to the file's directory. */
  readonly baseDir?: string;
}

/** The steps that differ between the two config files; everything else is shared. */
export interface ConfigPipeline<S extends z.ZodType, C> {
  readonly schema: S;
  readonly check: (parsed: z.infer<S>) => { ok: true; config: C } | { ok: false; issues: ConfigIssue[] };
  /** Checks that need the secrets' values. */
  readonly afterSecrets?: (config: Resolved<C>, issues: ConfigIssue[]) => void;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export function readConfigText(file: string, readFile: (path: string) => string = readText): string {
  try {
    return readFile(file);
  } catch (error) {
    throw new ConfigError(file, [
      { path: [], message: `cannot read config file: ${(error as Error).message}` },
    ]);
  }
}

/** YAML → schema → cross-field checks → secrets; throws ConfigError listing every problem of the first failing step. */
export function parseConfig<S extends z.ZodType, C>(
  pipeline: ConfigPipeline<S, C>,
  text: string,
  options: ParseOptions,
): Resolved<C> {
  const yaml = readYaml(text);
  if (!yaml.ok) throw new ConfigError(options.file, yaml.issues);
  const parsed = pipeline.schema.safeParse(yaml.value);
  if (!parsed.success) {
    throw new ConfigError(options.file, fromZodIssues(parsed.error.issues, yaml.value, pipeline.schema));
  }
  const checked = pipeline.check(parsed.data);
  if (!checked.ok) throw new ConfigError(options.file, checked.issues);

  const sources: SecretSources = {
    env: options.env ?? process.env,
    readFile: options.readFile ?? readText,
    baseDir: options.baseDir ?? dirname(resolve(options.file)),
  };
  const issues: ConfigIssue[] = [];
  // Scope entries are a list after the checks; errors should name the scope key the operator wrote.
  const config = resolveSecrets(checked.config, sources, issues, (path, node) =>
    path[0] === 'scopes' && path.length === 2 ? (node as { key: string }).key : (path.at(-1) ?? ''),
  );
  pipeline.afterSecrets?.(config, issues);
  if (issues.length > 0) throw new ConfigError(options.file, issues);
  return config;
}
