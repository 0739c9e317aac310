import type { Decision, DispatchRecord } from '@forgejo-fleet/store';
import type { BudgetState } from './budgets.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A dispatch as the API shows it: timestamps in RFC 3339 UTC. */
export function dispatchView(record: DispatchRecord) {
  return {
    id: record.id,
    handle: record.handle,
    scope: record.scope,
    labels: [...record.labels],
    route: record.route,
    client: record.client,
    state: record.state,
    job: record.job,
    runner: record.runner,
    provider: record.provider,
    instance_id: record.instance_id,
    error: record.error,
    machine: record.machine,
    retries: record.retries,
    created_at: iso(record.created_at),
    updated_at: iso(record.updated_at),
    transitions: record.transitions.map((t) => ({
      state: t.state,
      at: iso(t.at),
      ...(t.reason === undefined ? {} : { reason: t.reason }),
    })),
  };
}

/** A decision as the API shows it. */
export function decisionView(decision: Decision) {
  return { ...decision, at: iso(decision.at) };
}

/** A budget as the API shows it: which cap, today's use against it, and when it resets. */
export function budgetView(budget: BudgetState & { readonly resetsAt: number }) {
  return {
    cap: budget.cap,
    used: budget.used,
    limit: budget.limit,
    unit: budget.unit,
    resets_at: iso(budget.resetsAt),
  };
}
