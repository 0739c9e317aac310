import type { StoreBackend } from './backend.js';
import { concurrencyCases } from './concurrency.js';
import { decisionCases } from './decisions.js';
import { dispatchCases } from './dispatches.js';
import { heartbeatCases } from './heartbeat.js';
import { leaseCases } from './lease.js';
import { limitCases } from './limits.js';
import { listCases } from './list.js';
import { retentionCases } from './retention.js';
import { warmCases } from './warm.js';

export type { StoreBackend } from './backend.js';

/**
 * The one store conformance suite: every case of the Store contract (types.ts), run unchanged
 * against each backend by its `*.conformance.test.ts`. Cases that only one backend can have
 * (SQLite's file lock, durability pragmas, a corrupt file) stay beside that backend.
 */
export function storeConformance(backend: StoreBackend): void {
  dispatchCases(backend);
  listCases(backend);
  decisionCases(backend);
  warmCases(backend);
  retentionCases(backend);
  concurrencyCases(backend);
  leaseCases(backend);
  limitCases(backend);
  heartbeatCases(backend);
}
