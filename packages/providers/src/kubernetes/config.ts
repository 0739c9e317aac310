import type { z } from 'zod';
import type { KubernetesCredentials, KubernetesProvider } from './config-schema.js';

/** A `kind: kubernetes` provider entry of the loaded dispatcher config (it holds no inline secret). */
export type KubernetesProviderConfig = z.output<typeof KubernetesProvider>;

/** What the provider reads of its config; limits, cooldowns and concurrency are the dispatcher's. */
export type KubernetesProviderOptions = Pick<
  KubernetesProviderConfig,
  'flavor' | 'kubeconfig_file' | 'context' | 'namespace' | 'pod' | 'kubevirt' | 'hourly_price'
>;

/** A scope's override: its own kubeconfig (and context). */
export type KubernetesCredentialsConfig = z.output<typeof KubernetesCredentials>;
