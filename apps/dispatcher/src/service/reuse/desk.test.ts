import { openSqliteStore } from '@forgejo-fleet/store';
import { describe, expect, it } from 'vitest';
import { UsageMeter } from '../budgets.js';
import { ReuseDesk } from './desk.js';
import type { Parked } from './parked.js';

const DAY = Date.parse('2026-11-23T00:00:00Z');
const MINUTE = 60_000;

function parked(extra: Partial<Parked> = {}): Parked {
  return {
    provider: 'hetzner',
    instanceId: '42',
    dispatchId: 'd1',
    route: 'small',
    scope: 'org:acme',
    machine: 'cpx22@fsn1',
    hourlyPrice: 0.6,
    createdAt: DAY + 60 * MINUTE,
    parkedAt: DAY + 70 * MINUTE,
    ...extra,
  };
}

describe('ReuseDesk', () => {
  it('gives a server to one taker only, the one with the least paid time left first', () => {
    const desk = new ReuseDesk(() => DAY);
    desk.offer(parked({ instanceId: '1', createdAt: DAY }));
    desk.offer(parked({ instanceId: '2', createdAt: DAY + 30 * MINUTE }));
    const rank = (p: Parked) => -p.createdAt;

    expect(desk.take(() => true, rank)?.instanceId).toBe('2');
    expect(desk.take(() => true, rank)?.instanceId).toBe('1');
    expect(desk.take(() => true, rank)).toBeUndefined();
  });

  it('never offers a taken life again until it is settled, and takes it back when the claim was not stored', () => {
    const desk = new ReuseDesk(() => DAY);
    const server = parked();
    desk.offer(server);
    desk.take(
      () => true,
      () => 0,
    );

    expect(desk.offer(server)).toBe(false);
    desk.giveBack(server);
    expect(
      desk.take(
        () => true,
        () => 0,
      ),
    ).toBe(server);
    desk.settle(() => true);
    expect(desk.offer(server)).toBe(true);
  });

  it('counts a kept server’s idle time (billed, in no dispatch) to the route and scope of its last job', () => {
    let now = DAY + 80 * MINUTE;
    const desk = new ReuseDesk(() => now);
    desk.offer(parked());
    desk.take(
      () => true,
      () => 0,
    ); // idle 70 → 80 min
    desk.offer(parked({ instanceId: '43', dispatchId: 'd2', parkedAt: DAY + 85 * MINUTE }));
    now = DAY + 95 * MINUTE;

    const rows = desk.idleUsage(DAY, now);

    expect(rows).toEqual([
      { route: 'small', scope: 'org:acme', vm_ms: 10 * MINUTE, cost: 0.1 },
      { route: 'small', scope: 'org:acme', vm_ms: 10 * MINUTE, cost: 0.1 },
    ]);
  });

  it('adds the idle time to the budgets’ use of the day', async () => {
    const now = DAY + 100 * MINUTE;
    const desk = new ReuseDesk(() => now);
    desk.offer(parked());
    const meter = new UsageMeter(
      { store: openSqliteStore(':memory:'), clock: { now: () => now, sleep: async () => undefined } },
      (since, at) => desk.idleUsage(since, at),
    );

    const { rows } = await meter.today();

    expect(rows).toEqual([{ route: 'small', scope: 'org:acme', vm_ms: 30 * MINUTE, cost: 0.3 }]);
  });
});
