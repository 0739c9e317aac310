import type { Registry } from 'prom-client';
import type { DispatchService } from '../../service/service.js';

/** A budget and its use today, as the service reports it (`cap` names the config path). */
export interface BudgetUse {
  readonly cap: string;
  readonly used: number;
  readonly limit: number;
  readonly unit: string;
}

/**
 * The service's read paths the page uses, each called with the signed-in client (so the page shows
 * exactly what the API would), plus cancel. Circuits are optional: shown when the service offers
 * them.
 */
export type UiService = Pick<
  DispatchService,
  'list' | 'get' | 'why' | 'decisions' | 'routeViews' | 'budgets' | 'cancel'
> & {
  readonly openCircuits?: () => readonly string[];
};

export interface UiDeps {
  readonly service: UiService;
  /** The dispatcher's metrics (the latency chart and refusal counts); absent: those parts say so. */
  readonly registry?: Registry;
  /** Epoch ms (the dispatch page's "cost so far"). */
  readonly now: () => number;
}
