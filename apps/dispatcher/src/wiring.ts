import type { DispatcherConfig } from '@forgejo-fleet/config';
import { createForgejoClient, type ForgejoClient, type RequestEvent } from '@forgejo-fleet/forgejo';
import { createShellProvider, type Provider } from '@forgejo-fleet/providers';

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
 * the others share the default one.
 */
export function providerInstances(config: DispatcherConfig): (name: string, scopeKey: string) => Provider {
  const defaults = new Map<string, Provider>();
  const perScope = new Map<string, Provider>();
  for (const [name, provider] of Object.entries(config.providers)) {
    if (provider.kind !== 'shell') {
      throw new UnsupportedProviderError(
        `providers.${name}: kind ${provider.kind} is not available in this build yet (available: shell)`,
      );
    }
    defaults.set(name, createShellProvider(name, provider));
    for (const scope of config.scopes) {
      const override = scope.providers[name] as { secret_files: typeof provider.secret_files } | undefined;
      if (override) {
        perScope.set(
          `${name}\u0000${scope.key}`,
          createShellProvider(name, {
            ...provider,
            secret_files: [...provider.secret_files, ...override.secret_files],
          }),
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
