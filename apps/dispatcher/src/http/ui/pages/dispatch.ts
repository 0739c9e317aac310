import { type DispatchRecord, LIVE_STATES } from '@forgejo-fleet/store';
import type { Caller } from '../../../service/visibility.js';
import type { UiDeps } from '../deps.js';
import { duration, utc } from '../format.js';
import { type Html, html } from '../html.js';
import { decisionTable } from './decisions.js';

/** Decisions shown for one dispatch (a dispatch makes a handful; retries a few more). */
const DISPATCH_DECISIONS = 100;

/** One dispatch: facts, the timeline, the `why` text, its decisions, cost so far, and cancel. */
export async function dispatchBody(
  deps: UiDeps,
  caller: Caller,
  record: DispatchRecord,
  csrf: string,
): Promise<Html> {
  const [why, decisions] = await Promise.all([
    deps.service.why(record.id, caller),
    deps.service.decisions({ dispatch_id: record.id, limit: DISPATCH_DECISIONS }, caller),
  ]);
  const live = LIVE_STATES.includes(record.state);
  const cost = costSoFar(record, deps.now());
  return html`
<dl>
<dt>State</dt><dd>${record.state}${record.error ? html` — <span class="error">${record.error}</span>` : ''}</dd>
<dt>Scope</dt><dd>${record.scope}</dd>
<dt>Route</dt><dd>${record.route} (labels ${record.labels.join(', ')})</dd>
<dt>Job</dt><dd>${record.job ? `${record.job.name} (job ${record.job.id}, attempt ${record.job.attempt}, handle ${record.job.handle})` : 'manual dispatch'}</dd>
<dt>Provider</dt><dd>${record.provider ?? '—'}${record.instance_id ? ` · instance ${record.instance_id}` : ''}${record.machine ? ` · ${record.machine}` : ''}</dd>
<dt>Client</dt><dd>${record.client}</dd>
<dt>Cost so far</dt><dd>${cost === undefined ? html`<span class="muted">not priced</span>` : cost.toFixed(4)}</dd>
</dl>
${
  live
    ? html`<form method="post" action="/ui/dispatches/${encodeURIComponent(record.id)}/cancel">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" class="danger">Cancel this dispatch</button>
</form>`
    : ''
}
<section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>
<ol class="timeline">${record.transitions.map((t, i) => {
    const previous = record.transitions[i - 1];
    return html`<li><strong>${t.state}</strong> at <time datetime="${new Date(t.at).toISOString()}">${utc(t.at)}</time>${
      previous ? html` <span class="muted">(+${duration(t.at - previous.at)})</span>` : ''
    }${t.reason ? html` — ${t.reason}` : ''}</li>`;
  })}</ol>
</section>
<section aria-labelledby="why-h"><h2 id="why-h">Why</h2><pre>${why.text}</pre></section>
<section aria-labelledby="decisions-h"><h2 id="decisions-h">Decisions</h2>
${decisions.length === 0 ? html`<p>No decisions recorded.</p>` : decisionTable(decisions, `Decisions of ${record.id}`)}
</section>`;
}

/** The hourly price times the time the VM existed (from booting until it ended, or now). */
export function costSoFar(record: DispatchRecord, now: number): number | undefined {
  if (record.hourly_price === null) return undefined;
  const started = record.transitions.find((t) => t.state === 'booting')?.at;
  if (started === undefined) return 0;
  const ended = LIVE_STATES.includes(record.state) ? now : record.updated_at;
  return (record.hourly_price * Math.max(0, ended - started)) / 3_600_000;
}
