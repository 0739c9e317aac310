import { DISPATCH_STATES, type DispatchRecord } from '@forgejo-fleet/store';
import type { Caller } from '../../../service/visibility.js';
import type { UiDeps } from '../deps.js';
import { utc } from '../format.js';
import { type Html, html } from '../html.js';
import type { dispatchesQuery } from '../query.js';

type Query = ReturnType<typeof dispatchesQuery>;

/** The dispatch list: filters as a GET form, one store page, a link to the next by cursor. */
export async function dispatchesBody(deps: UiDeps, caller: Caller, query: Query): Promise<Html> {
  const page = await deps.service.list(
    {
      limit: query.limit,
      ...(query.state === undefined ? {} : { state: query.state }),
      ...(query.scope === undefined ? {} : { scope: query.scope }),
      ...(query.route === undefined ? {} : { route: query.route }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    },
    caller,
  );
  const routes = await deps.service.routeViews(caller);
  const next = new URLSearchParams();
  if (query.state) next.set('state', query.state);
  if (query.scope) next.set('scope', query.scope);
  if (query.route) next.set('route', query.route);
  next.set('limit', String(query.limit));
  if (page.next_cursor) next.set('cursor', page.next_cursor);

  return html`
<form class="filters" method="get" action="/ui/dispatches" aria-label="Filter dispatches">
<label for="f-state">State<select id="f-state" name="state"><option value="">any</option>${DISPATCH_STATES.map(
    (s) => html`<option value="${s}"${s === query.state ? html` selected` : ''}>${s}</option>`,
  )}</select></label>
<label for="f-route">Route<select id="f-route" name="route"><option value="">any</option>${routes.map(
    (r) => html`<option value="${r.name}"${r.name === query.route ? html` selected` : ''}>${r.name}</option>`,
  )}</select></label>
<label for="f-scope">Scope<input id="f-scope" name="scope" value="${query.scope ?? ''}" placeholder="org:acme"></label>
<label for="f-limit">Per page<input id="f-limit" name="limit" type="number" min="1" max="500" value="${query.limit}"></label>
<button type="submit">Filter</button>
</form>
${page.items.length === 0 ? html`<p>No dispatches match.</p>` : dispatchTable(page.items, 'Dispatches, newest first')}
<p>${page.next_cursor ? html`<a href="/ui/dispatches?${next.toString()}" rel="next">Next page</a>` : html`<span class="muted">Last page.</span>`}
${query.cursor ? html` · <a href="/ui/dispatches">First page</a>` : ''}</p>`;
}

export function dispatchTable(items: readonly DispatchRecord[], caption: string): Html {
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col">Dispatch</th><th scope="col">State</th><th scope="col">Scope</th>
<th scope="col">Route</th><th scope="col">Provider</th><th scope="col">Job</th><th scope="col">Created (UTC)</th></tr></thead>
<tbody>${items.map(
    (
      d,
    ) => html`<tr><td><a href="/ui/dispatches/${encodeURIComponent(d.id)}">${d.id}</a></td><td>${d.state}</td><td>${d.scope}</td>
<td>${d.route}</td><td>${d.provider ?? '—'}</td><td>${d.job ? d.job.name : 'manual'}</td><td>${utc(d.created_at)}</td></tr>`,
  )}</tbody></table>`;
}
