/**
 * The HA chaos run: 3 dispatchers and 2 autoscalers as real processes on one PostgreSQL, the fake
 * Forgejo and the fake Kubernetes API, ≥ 2,000 jobs, and meanwhile SIGKILLs of the leader and of
 * random replicas, the leader frozen past its lease mid-pass, one PostgreSQL restart
 * (test/chaos-ha/run.ts; docs/reliability.md, "High availability").
 *
 *   node --conditions=source --import tsx scripts/chaos-ha.ts [--seed N] [--jobs N] [--rate R]
 *     [--leader-kills N] [--replica-kills N] [--pauses N] [--postgres-restarts N] [--entry source|bin]
 *
 * PostgreSQL: the cluster named by FORGEJO_FLEET_TEST_PG_URL and FORGEJO_FLEET_TEST_PG_DIR
 * (scripts/dev/postgres.sh; it is restarted during the run), or else one started for the run and
 * stopped after it. Prints the report, writes bench-results/chaos-ha.json, and exits 1 when an
 * invariant was broken.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runChaosHa } from '../test/chaos-ha/run.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '8' },
    'leader-kills': { type: 'string', default: '3' },
    'replica-kills': { type: 'string', default: '4' },
    pauses: { type: 'string', default: '2' },
    'postgres-restarts': { type: 'string', default: '1' },
    'settle-minutes': { type: 'string', default: '5' },
    entry: { type: 'string', default: 'source' },
    'keep-dir': { type: 'boolean', default: false },
  },
  strict: true,
});

function whole(name: keyof typeof values, min: number): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`chaos-ha: --${name} takes a whole number ≥ ${min}, not ${String(values[name])}\n`);
    process.exit(64);
  }
  return value;
}

const rate = Number(values.rate);
if (!(rate > 0 && rate <= 100)) {
  process.stderr.write(`chaos-ha: --rate takes jobs per second in (0, 100], not ${values.rate}\n`);
  process.exit(64);
}
if (values.entry !== 'source' && values.entry !== 'bin') {
  process.stderr.write(`chaos-ha: --entry is source or bin, not ${values.entry}\n`);
  process.exit(64);
}
const pgUrl = process.env.FORGEJO_FLEET_TEST_PG_URL;
const pgDir = process.env.FORGEJO_FLEET_TEST_PG_DIR;

const report = await runChaosHa({
  seed: whole('seed', 0),
  jobs: whole('jobs', 1),
  jobsPerSecond: rate,
  faults: {
    leaderKills: whole('leader-kills', 0),
    replicaKills: whole('replica-kills', 0),
    pauses: whole('pauses', 0),
    postgresRestarts: whole('postgres-restarts', 0),
  },
  entry: values.entry,
  settleMs: whole('settle-minutes', 1) * 60_000,
  keepDir: values['keep-dir'],
  ...(pgUrl && pgDir ? { postgres: { url: pgUrl, dir: pgDir } } : {}),
  // One line per event and every 5 s: a fault's time reads straight from a CI log.
  progress: (line) => process.stderr.write(`chaos-ha: ${line}\n`),
});
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/chaos-ha.json', `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.stdout.write('wrote bench-results/chaos-ha.json\n');
const broken = Object.entries(report.invariants).filter(([, held]) => !held);
for (const [name] of broken) process.stderr.write(`chaos-ha: invariant broken: ${name}\n`);
process.exit(broken.length === 0 ? 0 : 1);
