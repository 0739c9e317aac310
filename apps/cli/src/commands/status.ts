import type { ApiFailure, BudgetView, DispatchApiClient, DispatchState } from '@forgejo-fleet/dispatch-api';
import { systemClock } from '@forgejo-fleet/runtime';
import { z } from 'zod';
import { API_FLAGS_HELP, type ApiIo, connect, parseApiArgs, reportFailure } from '../api-flags.js';
import { afterForTime } from '../decision-search.js';
import { EXIT } from '../io.js';
import { formatTable, shortTime } from '../table.js';
import { routeTable } from './routes.js';

export const statusHelp = `Usage: forgejo-fleet status

One screen: routes, live VMs by provider and state, warm pools, refusals in the last hour,
today's budgets used vs caps.
What the client may see only: a client of some scopes sees their dispatches, decisions and
budgets (route budgets span every scope: \`*\` clients only).
Refusals are counted by route with the latest reason.
${API_FLAGS_HELP}`;

/** States in which a dispatch holds (or is about to hold) a VM. */
export const LIVE_STATES = [
  'accepted',
  'registering',
  'provisioning',
  'booting',
  'running',
] as const satisfies readonly DispatchState[];
/** Bounds on what one status screen reads: pages of the largest size the API allows. */
const LIST_PAGE = 500;
const MAX_LIST_PAGES = 20;
const DECISION_PAGE = 1000;
const MAX_DECISION_PAGES = 20;
const HOUR_MS = 3_600_000;

export async function status(argv: readonly string[], io: ApiIo): Promise<number> {
  const { connection } = parseApiArgs(argv, {}, z.object({}));
  const { api, url } = connect(connection, io);
  const now = (io.clock ?? systemClock).now();
  const routes = await api.routes();
  if (!routes.ok) return reportFailure('status', routes, url, io);
  const live = await liveByProvider(api);
  if ('ok' in live) return reportFailure('status', live, url, io);
  const refusals = await refusalsSince(api, now - HOUR_MS);
  if ('ok' in refusals) return reportFailure('status', refusals, url, io);
  const budgets = await api.budgets();
  // A dispatcher from before /v1/budgets answers 404: the rest of the screen is still worth showing.
  const budgetsOffered = !(!budgets.ok && budgets.kind === 'refused' && budgets.status === 404);
  if (!budgets.ok && budgetsOffered) return reportFailure('status', budgets, url, io);

  const out = [`forgejo-fleet status: ${url} at ${shortTime(new Date(now).toISOString())}`, ''];
  out.push('ROUTES', routeTable(routes.value.routes));
  out.push(
    `LIVE VMS BY PROVIDER AND STATE${live.truncated ? ` (counted up to ${LIST_PAGE * MAX_LIST_PAGES} per state)` : ''}`,
  );
  out.push(liveTable(live.counts));
  const total = [...refusals.byRoute.values()].reduce((sum, r) => sum + r.count, 0);
  out.push(
    `REFUSALS IN THE LAST HOUR: ${total}${refusals.truncated ? ` or more (stopped after ${DECISION_PAGE * MAX_DECISION_PAGES} decisions)` : ''}`,
  );
  if (total > 0) {
    out.push(
      formatTable(
        ['ROUTE', 'COUNT', 'LATEST REASON'],
        [...refusals.byRoute].map(([route, r]) => [route, String(r.count), r.reason]),
      ),
    );
  } else {
    out.push('');
  }
  if (budgets.ok) out.push('BUDGETS TODAY (UTC)', budgetTable(budgets.value.items));
  else out.push('budgets: not offered by this dispatcher', '');
  io.stdout(out.join('\n'));
  return EXIT.ok;
}

/** One row per cap: use against the limit with its unit and share, and when it resets. */
export function budgetTable(budgets: readonly BudgetView[]): string {
  if (budgets.length === 0) return 'no budget applies to the scopes this client sees\n';
  return formatTable(
    ['CAP', 'USED / LIMIT', 'USED', 'RESETS'],
    budgets.map((b) => [
      b.cap,
      `${amount(b.used, b.unit)} / ${amount(b.limit, b.unit)} ${b.unit === 'minutes' ? 'VM-minutes' : 'money'}`,
      `${b.limit > 0 ? Math.round((b.used / b.limit) * 100) : 100} %`,
      shortTime(b.resets_at),
    ]),
  );
}

/** VM-minutes to one decimal (a VM bills by the second), money to cents; trailing zeros dropped. */
function amount(value: number, unit: BudgetView['unit']): string {
  return String(Number(value.toFixed(unit === 'minutes' ? 1 : 2)));
}

/** Live dispatches counted by provider (`-` before one is chosen) and state, from bounded pages. */
async function liveByProvider(
  api: DispatchApiClient,
): Promise<{ counts: Map<string, Map<string, number>>; truncated: boolean } | ApiFailure> {
  const counts = new Map<string, Map<string, number>>();
  let truncated = false;
  for (const state of LIVE_STATES) {
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page === MAX_LIST_PAGES) {
        truncated = true;
        break;
      }
      const answer = await api.listDispatches({ state, limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
      if (!answer.ok) return answer;
      for (const d of answer.value.items) {
        const provider = d.provider ?? '-';
        const row = counts.get(provider) ?? new Map<string, number>();
        row.set(state, (row.get(state) ?? 0) + 1);
        counts.set(provider, row);
      }
      cursor = answer.value.next_cursor ?? undefined;
      if (cursor === undefined) break;
    }
  }
  return { counts, truncated };
}

function liveTable(counts: Map<string, Map<string, number>>): string {
  const column = (state: string) => [...counts.values()].reduce((sum, row) => sum + (row.get(state) ?? 0), 0);
  const rowTotal = (row: Map<string, number>) => [...row.values()].reduce((a, b) => a + b, 0);
  const rows = [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([provider, row]) => [
      provider,
      ...LIVE_STATES.map((s) => String(row.get(s) ?? 0)),
      String(rowTotal(row)),
    ]);
  const grand = LIVE_STATES.reduce((sum, s) => sum + column(s), 0);
  rows.push(['total', ...LIVE_STATES.map((s) => String(column(s))), String(grand)]);
  return formatTable(['PROVIDER', ...LIVE_STATES.map((s) => s.toUpperCase()), 'TOTAL'], rows);
}

/** Refusal decisions since `sinceMs` by route, with the latest reason, from bounded pages. */
async function refusalsSince(
  api: DispatchApiClient,
  sinceMs: number,
): Promise<{ byRoute: Map<string, { count: number; reason: string }>; truncated: boolean } | ApiFailure> {
  const start = await afterForTime(api, sinceMs);
  if (!start.ok) return start;
  const byRoute = new Map<string, { count: number; reason: string }>();
  let after = start.after;
  for (let page = 0; page < MAX_DECISION_PAGES; page++) {
    const answer = await api.decisions({ after, limit: DECISION_PAGE });
    if (!answer.ok) return answer;
    for (const d of answer.value.items) {
      after = d.seq;
      if (d.kind !== 'refusal') continue;
      const route = d.route ?? '-';
      byRoute.set(route, { count: (byRoute.get(route)?.count ?? 0) + 1, reason: d.reason });
    }
    if (answer.value.items.length < DECISION_PAGE) return { byRoute, truncated: false };
  }
  return { byRoute, truncated: true };
}
