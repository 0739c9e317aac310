import type { Resolved } from '@forgejo-fleet/runtime/config';
import { type LoadOptions, type ParseOptions, parseConfig, readConfigText } from '../load-file.js';
import { type CheckedAutoscalerConfig, checkAutoscalerConfig } from './checks.js';
import { AutoscalerConfigShape } from './schema.js';

export type AutoscalerConfig = Resolved<CheckedAutoscalerConfig>;

const pipeline = { schema: AutoscalerConfigShape, check: checkAutoscalerConfig };

/** Loads, checks and resolves the autoscaler config; throws ConfigError listing every problem. */
export function loadAutoscalerConfig(file: string, options: LoadOptions = {}): AutoscalerConfig {
  return parseAutoscalerConfig(readConfigText(file, options.readFile), { ...options, file });
}

export function parseAutoscalerConfig(text: string, options: ParseOptions): AutoscalerConfig {
  return parseConfig(pipeline, text, options);
}
