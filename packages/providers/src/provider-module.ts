import { type Clock, fieldErrors } from '@forgejo-fleet/runtime';
import type { z } from 'zod';
import type { DeadlineTimer } from './deadlines.js';
import type { Ec2ProviderDeps } from './ec2/index.js';
import type { HetznerProviderDeps } from './hetzner/index.js';
import type { KubernetesProviderDeps } from './kubernetes/index.js';
import type { Provider } from './provider.js';
import type { ProviderConfigOf, ProviderKind } from './schemas.js';
import type { ShellProviderDeps } from './shell/index.js';

/** Everything outside a provider it needs, injected; tests pass fakes, the dispatcher shares one set. */
export interface ProviderDeps {
  readonly clock?: Clock;
  /** Starts the per-call deadline timers (default: setTimeout). */
  readonly deadlineTimer?: DeadlineTimer;
  readonly ec2?: Ec2ProviderDeps;
  readonly hetzner?: HetznerProviderDeps;
  readonly kubernetes?: KubernetesProviderDeps;
  readonly shell?: ShellProviderDeps;
}

/** One provider kind's entry in the registry (./registry.ts); each kind's folder exports its own. */
export interface ProviderModule<K extends ProviderKind> {
  /**
   * Builds the provider of one `providers.<name>` entry. `scopeOverride` is a scope's entry for
   * it (`scopes.<scope>.providers.<name>`), already parsed by the kind's `credentials` schema and
   * its secrets read; the config keeps overrides by provider name, so it arrives untyped and the
   * module checks its shape with `scopeCredentials`.
   */
  create(name: string, config: ProviderConfigOf<K>, scopeOverride: unknown, deps: ProviderDeps): Provider;
}

export class ScopeOverrideError extends Error {
  override readonly name = 'ScopeOverrideError';
}

/** A scope's override in the shape `schema` describes, or undefined when the scope sets none. */
export function scopeCredentials<S extends z.ZodType>(schema: S, value: unknown): z.output<S> | undefined {
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = fieldErrors(parsed.error.issues).map((e) =>
    e.path === '' ? e.message : `${e.path}: ${e.message}`,
  );
  throw new ScopeOverrideError(`not a loaded credentials override: ${problems.join('; ')}`);
}
