/** Hetzner bills every started hour of a server, counted from its `created` time. */
export const HOUR_MS = 3_600_000;

/** How much of the server's current paid hour is left at `now` (a full hour at each boundary). */
export function paidHourLeft(createdAt: number, now: number): number {
  const age = Math.max(0, now - createdAt);
  return HOUR_MS - (age % HOUR_MS);
}

/** Whole minutes, rounded down: "38 min left" never promises more than there is. */
export function wholeMinutes(ms: number): number {
  return Math.floor(ms / 60_000);
}
