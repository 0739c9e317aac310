import type { DispatchState } from '@forgejo-fleet/store';
import type { Caller } from '../../../service/visibility.js';
import type { BudgetUse, UiDeps } from '../deps.js';
import { type Html, html } from '../html.js';

const LIVE_STATES: readonly DispatchState[] = [
  'accepted',
  'registering',
  'provisioning',
  'booting',
  'running',
];
/** Rows read per live state: a bounded, indexed slice; beyond it the page says "N+". */
export const LIVE_SAMPLE = 200;

/**
 * Overview: routes, live dispatches by state and provider, warm pools, budgets, refusals, circuits.
 * Every read is scoped by the service (budgets as `GET /v1/budgets` shows them), not here.
 */
export async function overviewBody(deps: UiDeps, caller: Caller): Promise<Html> {
  const { service } = deps;
  const [routes, live, budgets, refusals] = await Promise.all([
    service.routeViews(caller),
    liveByState(deps, caller),
    service.budgets(caller),
    refusalCounts(deps, caller),
  ]);
  const circuits = service.openCircuits?.() ?? [];
  const providers = [...new Set(live.flatMap((row) => [...row.byProvider.keys()]))].sort();

  return html`
<section aria-labelledby="routes-h"><h2 id="routes-h">Routes</h2>
<table><thead><tr><th scope="col">Route</th><th scope="col">Labels</th><th scope="col">Providers</th>
<th scope="col" class="num">Live VMs</th><th scope="col" class="num">Max VMs</th><th scope="col">Warm pool (idle / booting / target)</th></tr></thead>
<tbody>${routes.map(
    (
      r,
    ) => html`<tr><th scope="row">${r.name}</th><td>${r.labels.join(', ')}</td><td>${r.providers.join(' → ')}</td>
<td class="num">${r.live_vms}</td><td class="num">${r.limits.max_vms}</td>
<td>${r.warm === null ? html`<span class="muted">none</span>` : `${r.warm.idle ?? '—'} / ${r.warm.booting ?? '—'} / ${r.warm.target}`}</td></tr>`,
  )}</tbody></table>
${caller.scopes === '*' ? '' : html`<p class="muted">Warm pool VMs belong to no scope until claimed: their counts are shown to fleet-wide clients only.</p>`}
</section>

<section aria-labelledby="live-h"><h2 id="live-h">Live dispatches by state and provider</h2>
<table><thead><tr><th scope="col">State</th><th scope="col" class="num">Total</th>${providers.map((p) => html`<th scope="col" class="num">${p}</th>`)}</tr></thead>
<tbody>${live.map(
    (row) => html`<tr><th scope="row"><a href="/ui/dispatches?state=${row.state}">${row.state}</a></th>
<td class="num">${row.count}${row.more ? '+' : ''}</td>${providers.map((p) => html`<td class="num">${row.byProvider.get(p) ?? 0}</td>`)}</tr>`,
  )}</tbody></table>
<p class="muted">Counts read at most ${LIVE_SAMPLE} dispatches per state ("${LIVE_SAMPLE}+": more); "none" is a dispatch without a provider yet.</p>
</section>

<section aria-labelledby="budgets-h"><h2 id="budgets-h">Budgets today</h2>
${budgetTable(budgets)}
</section>

<section aria-labelledby="refusals-h"><h2 id="refusals-h">Refusals since start</h2>
${refusals}
</section>

<section aria-labelledby="circuits-h"><h2 id="circuits-h">Provider circuits</h2>
${
  service.openCircuits === undefined
    ? html`<p class="muted">This dispatcher does not report provider circuits.</p>`
    : circuits.length === 0
      ? html`<p>Every provider's circuit is closed.</p>`
      : html`<ul>${circuits.map((p) => html`<li class="error">${p}: circuit open (cooling down)</li>`)}</ul>`
}
</section>`;
}

async function liveByState(deps: UiDeps, caller: Caller) {
  return Promise.all(
    LIVE_STATES.map(async (state) => {
      const page = await deps.service.list({ state, limit: LIVE_SAMPLE }, caller);
      const byProvider = new Map<string, number>();
      for (const record of page.items) {
        const provider = record.provider ?? 'none';
        byProvider.set(provider, (byProvider.get(provider) ?? 0) + 1);
      }
      return { state, count: page.items.length, more: page.next_cursor !== null, byProvider };
    }),
  );
}

function budgetTable(budgets: readonly BudgetUse[]): Html {
  if (budgets.length === 0) return html`<p>No budget applies to your scopes.</p>`;
  return html`<table><thead><tr><th scope="col">Cap</th><th scope="col">Used</th><th scope="col" class="num">Used / limit</th></tr></thead>
<tbody>${budgets.map((b) => {
    const used = round(b.used);
    return html`<tr><th scope="row">${b.cap}</th>
<td><meter min="0" max="${b.limit}" low="${b.limit * 0.8}" high="${b.limit * 0.95}" optimum="0" value="${Math.min(b.used, b.limit)}" aria-label="${b.cap}: ${used} of ${b.limit} ${b.unit}">${used} / ${b.limit}</meter></td>
<td class="num">${used} / ${b.limit} ${b.unit} (${Math.round((b.used / b.limit) * 100)} %)</td></tr>`;
  })}</tbody></table>`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** From the refusal counter: labelled by route, so fleet-wide: `*` clients only. */
async function refusalCounts(deps: UiDeps, caller: Caller): Promise<Html> {
  if (caller.scopes !== '*') {
    return html`<p class="muted">Refusal counts span every tenant: shown to fleet-wide clients. Your scopes' refusals are in the <a href="/ui/decisions">decision stream</a>.</p>`;
  }
  const metric = deps.registry?.getSingleMetric('forgejo_fleet_dispatch_refusals_total');
  if (!metric) return html`<p class="muted">Metrics are off on this dispatcher.</p>`;
  const rows = (await metric.get()).values.filter((v) => v.value > 0);
  if (rows.length === 0) return html`<p>No refusals.</p>`;
  return html`<table><thead><tr><th scope="col">Route</th><th scope="col">Reason</th><th scope="col" class="num">Count</th></tr></thead>
<tbody>${rows.map((v) => html`<tr><td>${String(v.labels.route ?? '')}</td><td>${String(v.labels.reason ?? '')}</td><td class="num">${v.value}</td></tr>`)}</tbody></table>`;
}
