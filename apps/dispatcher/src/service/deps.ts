import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import type { Store } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { DecisionLog } from './decision-log.js';
import type { ServiceObserver } from './observer.js';

export interface Clock {
  now(): number;
  /** Resolves after `ms` (tests resolve at once or advance a fake clock). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Everything the dispatch service touches outside itself, passed in so tests use fakes. */
export interface ServiceDeps {
  readonly config: DispatcherConfig;
  readonly store: Store;
  readonly clock: Clock;
  /** A new dispatch id: lowercase, hostname-safe, unique. */
  readonly newId: () => string;
  readonly log: Logger;
  readonly decisions: DecisionLog;
  readonly observer: ServiceObserver;
  /** The Forgejo client holding the token configured for this scope key. */
  readonly forgejoFor: (scopeKey: string) => ForgejoClient;
  /** The provider instance with this scope's credential overrides applied. */
  readonly providerFor: (providerName: string, scopeKey: string) => Provider;
}
