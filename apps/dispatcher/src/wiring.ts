import { podBootstrapFromUserData } from '@forgejo-fleet/cloud-init';
import type { DispatcherConfig } from '@forgejo-fleet/config';
import { createForgejoClient, type ForgejoClient, type RequestEvent } from '@forgejo-fleet/forgejo';
import {
  type AnyProviderConfig,
  createProvider,
  type Provider,
  sharedProviderDeps,
} from '@forgejo-fleet/providers';

/** One Forgejo client per configured scope, each holding that scope's token. */
export function forgejoClients(
  config: DispatcherConfig,
  onRequest?: (event: RequestEvent) => void,
): (scopeKey: string) => ForgejoClient {
  const clients = new Map<string, ForgejoClient>();
  for (const entry of config.scopes) {
    clients.set(
      entry.key,
      createForgejoClient({
        apiUrl: config.forgejo.api_url,
        token: entry.forgejo_token.reveal(),
        timeoutMs: config.forgejo.timeout,
        userAgent: 'forgejo-fleet-dispatcher',
        ...(onRequest ? { onRequest } : {}),
      }),
    );
  }
  return (scopeKey) => {
    const client = clients.get(scopeKey);
    if (!client) throw new Error(`scope ${scopeKey} is not configured`);
    return client;
  };
}

export class UnsupportedProviderError extends Error {
  override readonly name = 'UnsupportedProviderError';
}

/**
 * One provider per (provider, scope): a scope with credential overrides gets its own instance,
 * the others share the default one. Every provider comes from the static registry and shares one
 * set of deps, so the Hetzner providers (and scopes) using one project token share one rate limiter.
 */
export function providerInstances(config: DispatcherConfig): (name: string, scopeKey: string) => Provider {
  // The pod flavour's bootstrap comes from cloud-init, which the providers package cannot import.
  const deps = { ...sharedProviderDeps(), kubernetes: { podBootstrap: podBootstrapFromUserData } };
  const defaults = new Map<string, Provider>();
  const perScope = new Map<string, Provider>();
  function build(name: string, provider: AnyProviderConfig, override: unknown, where: string): Provider {
    try {
      return createProvider(name, provider, override, deps);
    } catch (error) {
      // Built at start: a provider that cannot be built is a config error (main exits 78).
      throw new UnsupportedProviderError(
        `${where}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  for (const [name, provider] of Object.entries(config.providers)) {
    defaults.set(name, build(name, provider, undefined, `providers.${name}`));
    for (const scope of config.scopes) {
      const override = scope.providers[name];
      if (override !== undefined) {
        perScope.set(
          `${name}\u0000${scope.key}`,
          build(name, provider, override, `scopes.${scope.key}.providers.${name}`),
        );
      }
    }
  }
  return (name, scopeKey) => {
    const provider = perScope.get(`${name}\u0000${scopeKey}`) ?? defaults.get(name);
    if (!provider) throw new Error(`provider ${name} is not configured`);
    return provider;
  };
}
