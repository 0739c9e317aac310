// The providers' clock is the runtime kit's; the old names stay for importers.
export { abortError, type Clock as ProviderClock, systemClock } from '@forgejo-fleet/runtime';
export {
  CHECK_NAMES,
  type CheckOutcome,
  type ConformanceCheck,
  type ConformanceOptions,
  type ConformanceRun,
  type ConformanceSubject,
  conformanceChecks,
} from './conformance/checks.js';
export {
  DeadlineExceeded,
  type DeadlineTimer,
  REBUILD_DEADLINE_MS,
  realTimer,
  withDeadlines,
} from './deadlines.js';
// The EC2 module itself loads the AWS SDK; only its types and choices are exported from here, and
// the registry builds EC2 providers that load it on first use (./ec2/lazy.ts).
export { ec2Choices } from './ec2/choices.js';
export type {
  Ec2CredentialsConfig,
  Ec2ProviderConfig,
  Ec2ProviderDeps,
  Ec2ProviderOptions,
} from './ec2/index.js';
export { createLazyEc2Provider as createEc2Provider } from './ec2/lazy.js';
export {
  classifyHcloudError,
  createHetznerProvider,
  createRateLimiter,
  HETZNER_KIND,
  type HetznerCredentialsConfig,
  type HetznerProviderConfig,
  type HetznerProviderDeps,
  type HetznerProviderOptions,
  hetznerChoices,
  labelSelector,
  labelsToTags,
  type RateLimiter,
  RateLimiters,
  tagsToLabels,
} from './hetzner/index.js';
export {
  classifyKubeError,
  createKubernetesProvider,
  KUBERNETES_KIND,
  type KubernetesCredentialsConfig,
  type KubernetesProviderConfig,
  type KubernetesProviderDeps,
  type KubernetesProviderOptions,
  kubernetesChoices,
  type PodBootstrap,
  type PodBootstrapper,
} from './kubernetes/index.js';
export {
  type CallOptions,
  DEFAULT_CHOICE,
  type Instance,
  InstanceNotFoundError,
  type InstanceSpec,
  type InstanceState,
  type MachineChoice,
  type Provider,
  ProviderError,
  type ProviderErrorClass,
} from './provider.js';
export {
  type ProviderDeps,
  type ProviderModule,
  ScopeOverrideError,
} from './provider-module.js';
export { createProvider, providerModules, sharedProviderDeps } from './registry.js';
export type {
  AnyProviderConfig,
  CallTimeouts,
  CallVerb,
  ProviderConfigOf,
  ProviderKind,
} from './schemas.js';
export {
  API_VERSION as SHELL_API_VERSION,
  createShellProvider,
  EXIT as SHELL_EXIT,
  SHELL_KIND,
  type ShellProviderConfig,
  type ShellProviderDeps,
  type ShellProviderOptions,
  VERBS as SHELL_VERBS,
  type Verb as ShellVerb,
} from './shell/index.js';
// The checks above are plain functions (node:assert); the vitest wrapper `describeProviderConformance`
// is the subpath `@forgejo-fleet/providers/conformance`, never part of what the dispatcher loads.
