/**
 * The chaos suite's short form (`npm run chaos:short`, and part of `npm test`): 300 jobs through
 * the whole loop under a seeded schedule of faults and crash-restarts. `npm run chaos` runs the
 * same driver with 5,000 jobs and prints the full report.
 */
import { describe, expect, it } from 'vitest';
import { type ChaosReport, runChaos } from './run.js';

const SEED = Number(process.env.CHAOS_SEED ?? 7);
const JOBS = Number(process.env.CHAOS_JOBS ?? 300);

describe(`chaos, ${JOBS} jobs, seed ${SEED}`, () => {
  let report: ChaosReport;

  it('runs every job through faults, cancellations and crash-restarts of both services', async () => {
    report = await runChaos({ seed: SEED, jobs: JOBS, maxWallMs: 90_000 });
    expect(report.jobs.enqueued).toBe(JOBS);
    expect(report.restarts.dispatcher).toBeGreaterThan(0);
    expect(report.restarts.autoscaler).toBeGreaterThan(0);
    expect(Object.keys(report.cancellations).length).toBeGreaterThanOrEqual(3);
    for (const kind of ['webhook_duplicate', 'webhook_drop', 'webhook_reorder', 'provider_capacity']) {
      expect(report.faults[kind], kind).toBeGreaterThan(0);
    }
    expect(report.jobs.succeeded + report.jobs.cancelled).toBeGreaterThan(JOBS * 0.8);
  }, 150_000);

  it('never had two live VMs for one job handle', () => {
    expect(report.duplicates).toEqual([]);
  });

  it('left no VM and no runner registration of ours behind', () => {
    expect(report.leaks.vms).toEqual([]);
    expect(report.leaks.registrations).toEqual([]);
    expect(report.leftover).toEqual([]);
  });

  it('gave every job that stayed waiting a VM once the faults stopped', () => {
    expect(report.stuck).toEqual([]);
  });
});
