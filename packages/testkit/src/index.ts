export type { FakeAnswer } from './fake-answer.js';
export { createFakeForgejo, type FakeForgejo } from './fake-forgejo/app.js';
export { signPayload } from './fake-forgejo/deliver.js';
export * as runnerProtocol from './fake-forgejo/rpc-protocol.js';
export { RUNNER_IDLE_MS, RUNNER_OFFLINE_MS } from './fake-forgejo/runner-model.js';
export { type RunningFakeForgejo, startFakeForgejo } from './fake-forgejo/server.js';
export type {
  Delivery,
  DeliveryFaults,
  FakeCall,
  FakeForgejoOptions,
  FakeHook,
  FakeHookKind,
  FakeJob,
  FakeJobStatus,
  FakeOrg,
  FakeRepo,
  FakeRunner,
  FakeRunnerStatus,
  FakeUser,
  FaultRule,
} from './fake-forgejo/types.js';
export { LabelSelectorError, parseLabelSelector } from './fake-hetzner/label-selector.js';
export { FAKE_HETZNER_TOKEN, type RunningFakeHetzner, startFakeHetzner } from './fake-hetzner/server.js';
export type {
  CreateErrorRule as FakeHetznerCreateErrorRule,
  FakeHetznerCall,
  FakeHetznerError,
  FakeHetznerOptions,
  FakeImage as FakeHetznerImage,
  FakeServer as FakeHetznerServer,
  FakeServerStatus as FakeHetznerServerStatus,
  FaultRule as FakeHetznerFaultRule,
} from './fake-hetzner/types.js';
export {
  FAKE_KUBERNETES_TOKEN,
  type RunningFakeKubernetes,
  startFakeKubernetes,
} from './fake-kubernetes/server.js';
export type {
  FakeKubeletOptions,
  FakeKubeResource,
  FakeKubernetesCall,
  FakeKubernetesOptions,
  FakeKubeVerb,
  FakeQuota as FakeKubernetesQuota,
  FaultRule as FakeKubernetesFaultRule,
  KubeObject as FakeKubeObject,
} from './fake-kubernetes/types.js';
export {
  DEFAULT_FETCH_INTERVAL_MS,
  type OneJobArgs,
  parseOneJobArgs,
  UsageError,
} from './fake-runner/args.js';
export { fakeRunnerEntry } from './fake-runner/entry.js';
export { EXIT, FAKE_RUNNER_VERSION, type FakeRunnerDeps, runFakeRunner } from './fake-runner/run.js';
