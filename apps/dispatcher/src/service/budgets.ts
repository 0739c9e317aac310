import type { UsageRow } from '@forgejo-fleet/store';
import type { ServiceDeps } from './deps.js';
import { LimitReached } from './errors.js';

/** The two daily caps a route or a scope may set. */
type Budgets = {
  readonly vm_minutes_per_day?: number | undefined;
  readonly money_per_day?: number | undefined;
};

const DAY_MS = 86_400_000;
/** Usage is summed from the store at most this often; budgets are daily, seconds do not matter. */
export const USAGE_CACHE_MS = 5_000;

export interface BudgetState {
  readonly cap: string;
  /** The scope whose cap this is; null for a route's cap, which spans every tenant. */
  readonly scope: string | null;
  readonly used: number;
  readonly limit: number;
  readonly unit: 'minutes' | 'money';
}

/** Today's VM time and money per route and per scope (UTC day), cached briefly. */
export class UsageMeter {
  #cached: { at: number; day: number; rows: readonly UsageRow[] } | undefined;

  constructor(
    private readonly deps: Pick<ServiceDeps, 'store' | 'clock'>,
    /** Billed time outside any dispatch's VM time (servers kept for reuse), added to the store's. */
    private readonly extra?: (since: number, now: number) => readonly UsageRow[],
  ) {}

  async today(): Promise<{ dayStart: number; rows: readonly UsageRow[] }> {
    const now = this.deps.clock.now();
    const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
    const cached = this.#cached;
    if (cached && cached.day === dayStart && now - cached.at < USAGE_CACHE_MS) {
      return { dayStart, rows: cached.rows };
    }
    const stored = await this.deps.store.usage(dayStart, now);
    const rows = this.extra === undefined ? stored : [...stored, ...this.extra(dayStart, now)];
    this.#cached = { at: now, day: dayStart, rows };
    return { dayStart, rows };
  }

  /** Every configured budget of this route and scope with its use today. */
  async states(
    deps: Pick<ServiceDeps, 'config'>,
    routeName: string,
    scopeKey: string,
  ): Promise<BudgetState[]> {
    const { rows } = await this.today();
    const route = deps.config.routes.find((r) => r.name === routeName);
    const scope = deps.config.scopes.find((s) => s.key === scopeKey);
    const onRoute = sum(rows.filter((row) => row.route === routeName));
    const inScope = sum(rows.filter((row) => row.scope === scopeKey));
    const states: BudgetState[] = [];
    const add = (
      cap: string,
      owner: string | null,
      used: number,
      limit: number | undefined,
      unit: BudgetState['unit'],
    ) => {
      if (limit !== undefined) states.push({ cap, scope: owner, used, limit, unit });
    };
    add(
      `routes.${routeName}.limits.vm_minutes_per_day`,
      null,
      onRoute.minutes,
      route?.limits.vm_minutes_per_day,
      'minutes',
    );
    add(`routes.${routeName}.limits.money_per_day`, null, onRoute.cost, route?.limits.money_per_day, 'money');
    add(
      `scopes.${scopeKey}.limits.vm_minutes_per_day`,
      scopeKey,
      inScope.minutes,
      scope?.limits.vm_minutes_per_day,
      'minutes',
    );
    add(
      `scopes.${scopeKey}.limits.money_per_day`,
      scopeKey,
      inScope.cost,
      scope?.limits.money_per_day,
      'money',
    );
    return states;
  }

  /** Every configured budget of every route and scope with its use today (metrics, status). */
  async all(deps: Pick<ServiceDeps, 'config'>): Promise<BudgetState[]> {
    const { rows } = await this.today();
    const states: BudgetState[] = [];
    const add = (
      prefix: string,
      scope: string | null,
      limits: Budgets,
      used: { minutes: number; cost: number },
    ) => {
      if (limits.vm_minutes_per_day !== undefined)
        states.push({
          cap: `${prefix}.limits.vm_minutes_per_day`,
          scope,
          used: used.minutes,
          limit: limits.vm_minutes_per_day,
          unit: 'minutes',
        });
      if (limits.money_per_day !== undefined)
        states.push({
          cap: `${prefix}.limits.money_per_day`,
          scope,
          used: used.cost,
          limit: limits.money_per_day,
          unit: 'money',
        });
    };
    for (const route of deps.config.routes)
      add(`routes.${route.name}`, null, route.limits, sum(rows.filter((row) => row.route === route.name)));
    for (const scope of deps.config.scopes)
      add(`scopes.${scope.key}`, scope.key, scope.limits, sum(rows.filter((row) => row.scope === scope.key)));
    return states;
  }

  /** Throws 429 naming the exhausted cap and when it resets (the next UTC midnight). */
  async check(
    deps: Pick<ServiceDeps, 'config' | 'clock'>,
    routeName: string,
    scopeKey: string,
  ): Promise<void> {
    const states = await this.states(deps, routeName, scopeKey);
    const spent = states.find((state) => state.used >= state.limit);
    if (!spent) return;
    const now = deps.clock.now();
    const resetsAt = budgetsResetAt(now);
    const used = spent.unit === 'minutes' ? `${Math.floor(spent.used)} VM-minutes` : spent.used.toFixed(2);
    throw new LimitReached(
      `budget ${spent.cap} is spent (${used} of ${spent.limit} today); it resets at ${new Date(resetsAt).toISOString()}`,
      {
        retryAfter: Math.max(1, Math.ceil((resetsAt - now) / 1000)),
        details: {
          limit: spent.cap,
          used: spent.used,
          cap: spent.limit,
          resets_at: new Date(resetsAt).toISOString(),
        },
      },
    );
  }
}

/** Budgets are per UTC day: they reset at the next UTC midnight after `now` (epoch ms). */
export function budgetsResetAt(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
}

function sum(rows: readonly UsageRow[]): { minutes: number; cost: number } {
  let ms = 0;
  let cost = 0;
  for (const row of rows) {
    ms += row.vm_ms;
    cost += row.cost;
  }
  return { minutes: ms / 60_000, cost };
}
