// The zod primitives live in the runtime kit (the providers' schemas use them too); same names here.
export { Duration, formatDuration, parseDuration, Secret, SecretRef } from '@forgejo-fleet/runtime/config';
export { type AutoscalerScopeEntry, checkAutoscalerConfig } from './autoscaler/checks.js';
export { type AutoscalerConfig, loadAutoscalerConfig, parseAutoscalerConfig } from './autoscaler/load.js';
export { AutoscalerConfigShape } from './autoscaler/schema.js';
export { runnerLabelName } from './common.js';
export { type ClientEntry, checkDispatcherConfig, type ScopeEntry } from './dispatcher/checks.js';
export {
  type DispatcherConfig,
  type LoadOptions,
  loadDispatcherConfig,
  parseDispatcherConfig,
} from './dispatcher/load.js';
export * from './dispatcher/provider-config.js';
export { DispatcherConfigShape, Route, RunnerInstall } from './dispatcher/schema.js';
export { ConfigError, type ConfigIssue, formatIssue, formatPath } from './issues.js';
export * from './routing.js';
export { resolveSecret, SecretError } from './secret.js';
