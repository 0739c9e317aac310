/**
 * Providers that just failed are skipped for their `cooldown`, so a route's chain falls through
 * to the next provider at once instead of hammering one that is out of capacity.
 */
export class Cooldowns {
  readonly #until = new Map<string, { until: number; reason: string }>();

  coolDown(provider: string, until: number, reason: string): void {
    this.#until.set(provider, { until, reason });
  }

  /** When the provider may be tried again, or undefined when it may be tried now. */
  blockedUntil(provider: string, now: number): { until: number; reason: string } | undefined {
    const entry = this.#until.get(provider);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#until.delete(provider);
      return undefined;
    }
    return entry;
  }

  clear(provider: string): void {
    this.#until.delete(provider);
  }
}
