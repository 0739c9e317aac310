import { type DispatcherConfig, type ProviderKind, providerKinds } from '@forgejo-fleet/config';
import { type Clock, systemClock } from '@forgejo-fleet/runtime';
import { type DeadlineTimer, withDeadlines } from './deadlines.js';
import type { Ec2CredentialsConfig, Ec2ProviderDeps } from './ec2/index.js';
import { createLazyEc2Provider } from './ec2/lazy.js';
import {
  createHetznerProvider,
  createRateLimiter,
  HETZNER_KIND,
  type HetznerCredentialsConfig,
  type HetznerProviderDeps,
  RateLimiters,
} from './hetzner/index.js';
import type { Provider } from './provider.js';
import {
  createShellProvider,
  SHELL_KIND,
  type ShellProviderConfig,
  type ShellProviderDeps,
} from './shell/index.js';

/** One provider entry of the loaded dispatcher config, of one kind (secrets resolved). */
export type ProviderConfigOf<K extends ProviderKind> = Extract<
  DispatcherConfig['providers'][string],
  { kind: K }
>;
export type AnyProviderConfig = DispatcherConfig['providers'][string];

/** What a scope may override per kind (`scopes.<scope>.providers.<name>`), already parsed. */
export interface CredentialsByKind {
  readonly ec2: Ec2CredentialsConfig;
  readonly hetzner: HetznerCredentialsConfig;
  readonly shell: { readonly secret_files: ShellProviderConfig['secret_files'] };
}

/** Everything outside a provider it needs, injected; tests pass fakes, the dispatcher shares one set. */
export interface ProviderDeps {
  readonly clock?: Clock;
  /** Starts the per-call deadline timers (default: setTimeout). */
  readonly deadlineTimer?: DeadlineTimer;
  readonly ec2?: Ec2ProviderDeps;
  readonly hetzner?: HetznerProviderDeps;
  readonly shell?: ShellProviderDeps;
}

export interface ProviderModule<K extends ProviderKind> {
  readonly kind: K;
  /** The config schema of this kind (from @forgejo-fleet/config, where the discriminated union lives). */
  readonly configSchema: (typeof providerKinds)[K]['options'];
  readonly credentialsSchema: (typeof providerKinds)[K]['credentials'];
  create(
    name: string,
    config: ProviderConfigOf<K>,
    credentials: CredentialsByKind[K] | undefined,
    deps: ProviderDeps,
  ): Provider;
}

const ec2Module: ProviderModule<'ec2'> = {
  kind: 'ec2',
  configSchema: providerKinds.ec2.options,
  credentialsSchema: providerKinds.ec2.credentials,
  create: (name, config, credentials, deps) =>
    createLazyEc2Provider(name, config, credentials, {
      ...deps.ec2,
      ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    }),
};

const hetznerModule: ProviderModule<'hetzner'> = {
  kind: HETZNER_KIND,
  configSchema: providerKinds.hetzner.options,
  credentialsSchema: providerKinds.hetzner.credentials,
  create: (name, config, credentials, deps) =>
    createHetznerProvider(name, config, credentials, {
      ...deps.hetzner,
      ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    }),
};

const shellModule: ProviderModule<'shell'> = {
  kind: SHELL_KIND,
  configSchema: providerKinds.shell.options,
  credentialsSchema: providerKinds.shell.credentials,
  // A scope's secret files come on top of the provider's own.
  create: (name, config, credentials, deps) =>
    createShellProvider(
      name,
      { ...config, secret_files: [...config.secret_files, ...(credentials?.secret_files ?? [])] },
      deps.shell,
    ),
};

/** Every provider kind there is: a kind in the config without a module here fails to compile. */
export const providerModules = {
  ec2: ec2Module,
  hetzner: hetznerModule,
  shell: shellModule,
} as const satisfies { readonly [K in ProviderKind]: ProviderModule<K> };

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
    buildProvider(name, config, scopeOverride, deps),
    config.call_timeouts,
    deps.deadlineTimer,
  );
}

function buildProvider(
  name: string,
  config: AnyProviderConfig,
  scopeOverride: unknown,
  deps: ProviderDeps,
): Provider {
  switch (config.kind) {
    case 'ec2':
      return providerModules.ec2.create(
        name,
        config,
        scopeOverride as CredentialsByKind['ec2'] | undefined,
        deps,
      );
    case 'hetzner':
      return providerModules.hetzner.create(
        name,
        config,
        scopeOverride as CredentialsByKind['hetzner'] | undefined,
        deps,
      );
    case 'shell':
      return providerModules.shell.create(
        name,
        config,
        scopeOverride as CredentialsByKind['shell'] | undefined,
        deps,
      );
  }
}
