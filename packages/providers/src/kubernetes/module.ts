import { type ProviderModule, scopeCredentials } from '../provider-module.js';
import { KubernetesCredentials } from './config-schema.js';
import { createKubernetesProvider } from './index.js';

/**
 * `kind: kubernetes` in the registry; a scope's kubeconfig replaces the provider's own. The
 * in-cluster service account is found through the process environment (KUBERNETES_SERVICE_HOST),
 * read here, where the kind is wired, and never inside the provider.
 */
export const kubernetesModule: ProviderModule<'kubernetes'> = {
  create: (name, config, scopeOverride, deps) =>
    createKubernetesProvider(name, config, scopeCredentials(KubernetesCredentials, scopeOverride), {
      env: process.env,
      ...deps.kubernetes,
      ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    }),
};
