import type { Caller } from '../../../service/visibility.js';
import type { UiDeps } from '../deps.js';
import { duration } from '../format.js';
import { type Html, html } from '../html.js';
import { type PhaseLatency, phaseLatencies, quantile } from '../latency.js';

const WIDTH = 640;
const LEFT = 90;
const ROW = 34;
const TOP = 10;
/** The log axis spans 50 ms to 6 h: the phase histogram's bucket range. */
const AXIS_MIN = 0.05;
const AXIS_MAX = 21_600;
const TICKS = [0.1, 1, 10, 60, 600, 3600, 21_600];

/** Per-phase latency: p50 and p90 bars and a p99 mark on a log axis, drawn here as SVG, plus the table. */
export async function latencyBody(deps: UiDeps, caller: Caller): Promise<Html> {
  // Timings carry no scope; how many dispatches ran fleet-wide is other tenants' business.
  const counts = caller.scopes === '*';
  if (!deps.registry) return html`<p class="muted">Metrics are off on this dispatcher.</p>`;
  const phases = await phaseLatencies(deps.registry);
  if (phases.length === 0) return html`<p>No dispatch has finished a phase since the dispatcher started.</p>`;
  const rows = phases.map((p) => ({
    p,
    p50: quantile(p, 0.5),
    p90: quantile(p, 0.9),
    p99: quantile(p, 0.99),
  }));
  return html`
<figure>
${chart(rows)}
<figcaption>Time to reach each phase since the dispatcher started, all routes and providers (estimated from the histogram's buckets).</figcaption>
</figure>
<table><caption>Per-phase latency</caption><thead><tr><th scope="col">Phase</th>${counts ? html`<th scope="col" class="num">Count</th>` : ''}<th scope="col" class="num">Mean</th>
<th scope="col" class="num">p50</th><th scope="col" class="num">p90</th><th scope="col" class="num">p99</th></tr></thead>
<tbody>${rows.map(
    (
      r,
    ) => html`<tr><th scope="row">${r.p.phase}</th>${counts ? html`<td class="num">${r.p.count}</td>` : ''}<td class="num">${duration((r.p.sum / r.p.count) * 1000)}</td>
<td class="num">${duration(r.p50 * 1000)}</td><td class="num">${duration(r.p90 * 1000)}</td><td class="num">${duration(r.p99 * 1000)}</td></tr>`,
  )}</tbody></table>`;
}

function x(seconds: number): number {
  const clamped = Math.min(Math.max(seconds, AXIS_MIN), AXIS_MAX);
  const share = Math.log(clamped / AXIS_MIN) / Math.log(AXIS_MAX / AXIS_MIN);
  return Math.round(LEFT + share * (WIDTH - LEFT - 10));
}

function chart(rows: readonly { p: PhaseLatency; p50: number; p90: number; p99: number }[]): Html {
  const height = TOP + rows.length * ROW + 30;
  const axisY = TOP + rows.length * ROW;
  return html`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="lat-title lat-desc" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">
<title id="lat-title">Per-phase latency</title>
<desc id="lat-desc">${rows.map((r) => `${r.p.phase}: p50 ${duration(r.p50 * 1000)}, p90 ${duration(r.p90 * 1000)}, p99 ${duration(r.p99 * 1000)}. `)}</desc>
${rows.map((r, i) => {
  const y = TOP + i * ROW;
  return html`<g class="phase"><text x="${LEFT - 8}" y="${y + 18}" text-anchor="end" font-size="13" fill="#1a1a1a">${r.p.phase}</text>
<rect x="${LEFT}" y="${y + 4}" width="${x(r.p90) - LEFT}" height="20" fill="#9cc3e6"><title>p90 ${duration(r.p90 * 1000)}</title></rect>
<rect x="${LEFT}" y="${y + 8}" width="${x(r.p50) - LEFT}" height="12" fill="#0b4f9c"><title>p50 ${duration(r.p50 * 1000)}</title></rect>
<line x1="${x(r.p99)}" x2="${x(r.p99)}" y1="${y + 2}" y2="${y + 26}" stroke="#a4161a" stroke-width="2"><title>p99 ${duration(r.p99 * 1000)}</title></line></g>`;
})}
<line x1="${LEFT}" x2="${WIDTH - 10}" y1="${axisY}" y2="${axisY}" stroke="#444"/>
${TICKS.map((t) => html`<line x1="${x(t)}" x2="${x(t)}" y1="${axisY}" y2="${axisY + 5}" stroke="#444"/><text x="${x(t)}" y="${axisY + 18}" text-anchor="middle" font-size="11" fill="#1a1a1a">${duration(t * 1000)}</text>`)}
</svg>
<p class="muted">Dark bar: median (p50); light bar: p90; red mark: p99. Logarithmic time axis.</p>`;
}
