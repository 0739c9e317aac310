import type { Route } from '@forgejo-fleet/config';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** How many idle warm VMs the route wants at `now` (UTC): the first matching window, else `min_idle`. */
export function targetIdle(route: Route, now: number): number {
  const warm = route.warm;
  if (warm === undefined) return 0;
  const date = new Date(now);
  const day = DAYS[date.getUTCDay()] ?? 'sun';
  const minute = `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
  for (const window of warm.schedule) {
    if (window.days.includes(day) && window.from <= minute && minute < window.to) return window.min_idle;
  }
  return warm.min_idle;
}

export function hasWarmPool(route: Route): boolean {
  return route.warm !== undefined && (route.warm.min_idle > 0 || route.warm.schedule.length > 0);
}
