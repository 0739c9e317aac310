/**
 * The chaos suite: a seeded run of the whole loop (fake Forgejo, real autoscaler and dispatcher,
 * chaos cloud, webhook relay) under faults and crash-restarts, then the invariant report.
 *
 *   node --conditions=source --import tsx scripts/chaos.ts [--seed N] [--jobs N] [--max-minutes M]
 *
 * Prints the report, writes bench-results/chaos.json, and exits 1 when an invariant was broken
 * (a duplicate VM, a job left waiting, or a leak).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { progress } from '@forgejo-fleet/runtime';
import { FAULT_RATES, runChaos } from '../test/chaos/run.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '5000' },
    rate: { type: 'string', default: '3' },
    'max-minutes': { type: 'string', default: '8' },
  },
  strict: true,
});
const seed = Number(values.seed);
const jobs = Number(values.jobs);
if (!Number.isInteger(seed) || !(Number.isInteger(jobs) && jobs > 0)) {
  process.stderr.write('chaos: --seed and --jobs take whole numbers\n');
  process.exit(64);
}

// A terminal sees one line redrawn with the run's state; CI logs get a start and an end line.
const shown = progress(`chaos seed ${seed}`, undefined, { stream: process.stderr, env: process.env });
const report = await runChaos({
  seed,
  jobs,
  jobsPerSecond: Number(values.rate),
  maxWallMs: Number(values['max-minutes']) * 60_000,
  progress: (line) => shown.update(0, line.replace(/^chaos: /, '')),
});
shown.done();
const broken =
  report.duplicates.length +
  report.stuck.length +
  report.leaks.vms.length +
  report.leaks.registrations.length;
const summary = {
  ...report,
  stuck: report.stuck.slice(0, 20),
  stuck_by_dispatch: tally(report.stuck.map((s) => s.dispatch.replace(/d\d{12}/g, 'dN').slice(0, 120))),
  fault_rates: FAULT_RATES,
  invariants: {
    no_two_live_vms_per_handle: report.duplicates.length === 0,
    every_waiting_job_got_a_vm: report.stuck.length === 0,
    nothing_left: report.leaks.vms.length === 0 && report.leaks.registrations.length === 0,
  },
};
mkdirSync('bench-results', { recursive: true });
writeFileSync(`bench-results/chaos-seed${seed}.json`, `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(`wrote bench-results/chaos-seed${seed}.json\n`);
process.exit(broken === 0 ? 0 : 1);

function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[value] = (out[value] ?? 0) + 1;
  return out;
}
