import { Counter, Gauge, type Registry } from 'prom-client';
import type { Role } from '../service/leadership.js';
import type { HaObserver, RenewalResult } from './leader.js';

const ROLES: readonly Role[] = ['leader', 'follower'];
const RESULTS: readonly RenewalResult[] = ['acquired', 'renewed', 'held-elsewhere', 'error'];

/** The HA series on the dispatcher's registry; the returned observer feeds them. */
export function registerHaMetrics(registry: Registry, initial: Role): HaObserver {
  const role = new Gauge({
    name: 'forgejo_fleet_ha_role',
    help: 'This replica’s role: 1 on the series of its current role (leader or follower), 0 on the other.',
    labelNames: ['role'] as const,
    registers: [registry],
  });
  const renewals = new Counter({
    name: 'forgejo_fleet_ha_lease_renewals_total',
    help: 'Lease renewals and attempts to take it, by result (acquired, renewed, held-elsewhere, error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'forgejo_fleet_ha_failovers_total',
    help: 'Times this replica became leader after another replica had held the lease.',
    registers: [registry],
  });
  const epoch = new Gauge({
    name: 'forgejo_fleet_ha_lease_epoch',
    help: 'The lease epoch of this replica’s latest term as leader (0: never led).',
    registers: [registry],
  });
  // Every series exists from the start, so rate() and absent() work before the first change.
  for (const result of RESULTS) renewals.labels(result).inc(0);
  failovers.inc(0);
  epoch.set(0);
  const setRole = (current: Role) => {
    for (const r of ROLES) role.labels(r).set(r === current ? 1 : 0);
  };
  setRole(initial);
  return {
    role: setRole,
    renewal: (result) => renewals.labels(result).inc(),
    failover: () => failovers.inc(),
    epoch: (n) => epoch.set(n),
  };
}
