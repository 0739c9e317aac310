import type { DispatcherConfig } from '@forgejo-fleet/config';
import type { ForgejoClient } from '@forgejo-fleet/forgejo';
import type { Provider } from '@forgejo-fleet/providers';
import type { Clock } from '@forgejo-fleet/runtime';
import type { Store } from '@forgejo-fleet/store';
import type { Logger } from 'pino';
import type { DecisionLog } from './decision-log.js';
import type { Leadership } from './leadership.js';
import type { ServiceObserver } from './observer.js';

/** The runtime kit's clock; tests pass a virtual one. */
export type { Clock };

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
  /** Who runs the reconciler and warm refill (absent: this dispatcher, always; see leadership.ts). */
  readonly leadership?: Leadership;
}
