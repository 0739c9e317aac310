import { afterEach } from 'vitest';
import type { Store } from '../types.js';

/** What the conformance suite needs of a backend: a new, empty store per call. */
export interface StoreBackend {
  /** Shown in the test names: `sqlite`, `postgres`. */
  readonly name: string;
  /**
   * An empty store of its own (SQLite: a fresh `:memory:` database; PostgreSQL: a fresh schema),
   * its bookkeeping clock at `now` when given.
   */
  open(options?: { readonly now?: () => number }): Promise<Store>;
}

/**
 * Registers an afterEach that closes every store the test opened, and returns the opener the
 * cases use: each case starts from an empty store, whatever ran before it.
 */
export function storesOf(
  backend: StoreBackend,
): (options?: { readonly now?: () => number }) => Promise<Store> {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  return async (options) => {
    const store = await backend.open(options);
    opened.push(store);
    return store;
  };
}
