import type { Decision } from '@forgejo-fleet/store';
import type { Caller } from '../../../service/visibility.js';
import type { UiDeps } from '../deps.js';
import { utc } from '../format.js';
import { type Html, html } from '../html.js';
import type { decisionsQuery } from '../query.js';

type Query = ReturnType<typeof decisionsQuery>;

/**
 * The decision stream: the latest page first, newest at the top, with "Older" links (`before`);
 * or, given `after`, oldest first from there with "Newer" links (tailing from a known point). Both
 * read the store's sequence index, so any page of a million decisions costs the same.
 */
export async function decisionsBody(deps: UiDeps, caller: Caller, query: Query): Promise<Html> {
  if (query.newestFirst) return newestFirst(deps, caller, query);
  const items = await deps.service.decisions({ after: query.after, limit: query.limit }, caller);
  const last = items.at(-1)?.seq;
  return html`
${jumpForm(query.after, query.limit)}
${items.length === 0 ? html`<p>No decisions after #${query.after}.</p>` : decisionTable(items, 'Decisions, oldest first')}
<p>${last === undefined ? '' : html`<a href="/ui/decisions?after=${last}&amp;limit=${query.limit}" rel="next">Newer decisions</a>`}</p>`;
}

async function newestFirst(deps: UiDeps, caller: Caller, query: Query): Promise<Html> {
  const before = query.before ?? Number.POSITIVE_INFINITY;
  const items = await deps.service.decisions({ before, limit: query.limit }, caller);
  const oldest = items.at(-1)?.seq;
  return html`
${jumpForm('', query.limit)}
${items.length === 0 ? html`<p>No decisions${query.before === undefined ? '' : html` before #${query.before}`}.</p>` : decisionTable(items, 'Decisions, newest first')}
<p>${query.before === undefined ? '' : html`<a href="/ui/decisions?limit=${query.limit}">Latest decisions</a> `}${oldest === undefined || items.length < query.limit ? '' : html`<a href="/ui/decisions?before=${oldest}&amp;limit=${query.limit}" rel="prev">Older decisions</a>`}</p>`;
}

/** Jump to a sequence number (oldest first from there); an empty field means the latest page. */
function jumpForm(after: number | '', limit: number): Html {
  return html`<form class="filters" method="get" action="/ui/decisions" aria-label="Jump in the decision stream">
<label for="d-after">After sequence number<input id="d-after" name="after" type="number" min="0" value="${after}"></label>
<label for="d-limit">Per page<input id="d-limit" name="limit" type="number" min="1" max="200" value="${limit}"></label>
<button type="submit">Show</button>
</form>`;
}

export function decisionTable(items: readonly Decision[], caption: string): Html {
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col" class="num">#</th><th scope="col">At (UTC)</th><th scope="col">Kind</th>
<th scope="col">Dispatch</th><th scope="col">Route</th><th scope="col">Scope</th><th scope="col">Provider</th><th scope="col">Reason</th></tr></thead>
<tbody>${items.map(
    (d) => html`<tr><td class="num">${d.seq}</td><td>${utc(d.at)}</td><td>${d.kind}</td>
<td>${d.dispatch_id ? html`<a href="/ui/dispatches/${encodeURIComponent(d.dispatch_id)}">${d.dispatch_id}</a>` : '—'}</td>
<td>${d.route ?? '—'}</td><td>${d.scope ?? 'fleet'}</td><td>${d.provider ?? '—'}</td><td>${d.reason}</td></tr>`,
  )}</tbody></table>`;
}
