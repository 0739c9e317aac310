import { type ProviderModule, scopeCredentials } from '../provider-module.js';
import { ShellResolvedCredentials } from './config-schema.js';
import { createShellProvider } from './index.js';

/** `kind: shell` in the registry; a scope's secret files come on top of the provider's own. */
export const shellModule: ProviderModule<'shell'> = {
  create: (name, config, scopeOverride, deps) => {
    const scoped = scopeCredentials(ShellResolvedCredentials, scopeOverride)?.secret_files ?? [];
    return createShellProvider(
      name,
      { ...config, secret_files: [...config.secret_files, ...scoped] },
      deps.shell,
    );
  },
};
