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
export * from './dispatcher/providers/index.js';
export { DispatcherConfigShape, Route, RunnerInstall } from './dispatcher/schema.js';
export { Duration, formatDuration, parseDuration } from './duration.js';
export { ConfigError, type ConfigIssue, formatIssue, formatPath } from './issues.js';
export * from './routing.js';
export { resolveSecret, Secret, SecretError, SecretRef } from './secret.js';
