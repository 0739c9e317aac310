export { AccountRef, Organization, Repository, User } from './account.js';
export {
  type CallOptions,
  createForgejoClient,
  type ForgejoClient,
  type ForgejoClientOptions,
} from './client.js';
export { ForgejoApiError, ForgejoNetworkError, ForgejoResponseError } from './errors.js';
export { type CreateHook, type EditHook, Hook, type HookConfig, type HookType } from './hook.js';
export { RunJob } from './run-job.js';
export { RegisteredRunner, type RegisterRunner, Runner } from './runner.js';
export * from './scope.js';
export type { RequestEvent } from './transport.js';
