export { RunnerBootstrap, RunnerInstall, type ValidRunnerBootstrap } from './bootstrap.js';
export { InvalidRunnerBootstrapError, UserDataTooLargeError } from './errors.js';
export { bootstrapFromConfig, type RunnerRegistration } from './from-config.js';
export { LABEL_SCHEMES, type LabelScheme, type ParsedLabel, parseLabel, RunnerLabel } from './labels.js';
export { PLACEHOLDER_TOKEN, TOKEN_PATH, USER_DATA_MAX_BYTES } from './paths.js';
export { type PodBootstrap, podBootstrapFromUserData } from './pod/bootstrap.js';
export { renderUserData } from './render.js';
export { type CloudInitSchemaResult, validateWithCloudInit } from './validate.js';
export { type ValidWarmBootstrap, WarmBootstrap } from './warm/bootstrap.js';
export { warmBootstrapFromConfig } from './warm/from-config.js';
export {
  AGENT_AUTH_PATH,
  AGENT_PATH,
  PLACEHOLDER_AGENT_SECRET,
  WARM_BOOTSTRAP_PATH,
} from './warm/paths.js';
export { renderWarmUserData } from './warm/render.js';
