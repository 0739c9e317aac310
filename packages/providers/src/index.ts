export {
  type CallOptions,
  DEFAULT_CHOICE,
  type Instance,
  type InstanceSpec,
  type InstanceState,
  type MachineChoice,
  type Provider,
  ProviderError,
  type ProviderErrorClass,
} from './provider.js';
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
// The conformance suite imports vitest, so it is the subpath `@forgejo-fleet/providers/conformance`
// (src/conformance/index.ts), never part of what the dispatcher loads.
