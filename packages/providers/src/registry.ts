import { type Clock, systemClock } from '@forgejo-fleet/runtime';
import { withDeadlines } from './deadlines.js';
import { ec2Module } from './ec2/module.js';
import { createRateLimiter, RateLimiters } from './hetzner/index.js';
import { hetznerModule } from './hetzner/module.js';
import { kubernetesModule } from './kubernetes/module.js';
import type { Provider } from './provider.js';
import type { ProviderDeps, ProviderModule } from './provider-module.js';
import type { AnyProviderConfig, ProviderConfigOf, ProviderKind } from './schemas.js';
import { shellModule } from './shell/module.js';

/**
 * Every provider kind there is, one line each. Typed over the kinds of ./schemas.ts: a kind there
 * without a module here fails to compile, and the module of a kind takes that kind's config.
 */
export const providerModules: { readonly [K in ProviderKind]: ProviderModule<K> } = {
  ec2: ec2Module,
  hetzner: hetznerModule,
  kubernetes: kubernetesModule,
  shell: shellModule,
};

/**
 * Dependencies to share between every provider of one process: one rate limiter per Hetzner
 * project token, whichever providers and scopes use it.
 */
export function sharedProviderDeps(clock: Clock = systemClock): ProviderDeps {
  return { clock, hetzner: { rateLimiters: new RateLimiters(() => createRateLimiter(clock)) } };
}

/**
 * Builds the provider of one config entry; `scopeOverride` is that provider's entry under a
 * scope's `providers` (already checked against the kind's credentials schema by the config).
 * Every call of every kind gets its deadline here, the one place (`call_timeouts`).
 */
export function createProvider(
  name: string,
  config: AnyProviderConfig,
  scopeOverride?: unknown,
  deps: ProviderDeps = sharedProviderDeps(),
): Provider {
  return withDeadlines(
    buildProvider(config.kind, name, config, scopeOverride, deps),
    config.call_timeouts,
    deps.deadlineTimer,
  );
}

/** `kind` picks the module and types the config alike, so the module of K gets K's config. */
function buildProvider<K extends ProviderKind>(
  kind: K,
  name: string,
  config: ProviderConfigOf<K>,
  scopeOverride: unknown,
  deps: ProviderDeps,
): Provider {
  return providerModules[kind].create(name, config, scopeOverride, deps);
}
