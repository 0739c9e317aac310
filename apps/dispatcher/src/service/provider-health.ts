import type { ProviderErrorClass } from '@forgejo-fleet/providers';

/** Named in one place so the operator docs and `why` can quote them. */
export const HEALTH = {
  /** A choice's cooldown doubles on each consecutive capacity/quota failure, up to this factor. */
  maxCooldownFactor: 16,
  /** Never cool a choice down for longer than this, whatever the provider's `cooldown`. */
  maxCooldownMs: 3_600_000,
  /** Consecutive fatal or transient failures that open a provider's circuit. */
  circuitThreshold: 3,
} as const;

interface Cooling {
  until: number;
  reason: string;
  failures: number;
}

export interface Blocked {
  readonly until: number;
  readonly reason: string;
}

/**
 * What the dispatcher knows about each provider right now: which machine choices are out of
 * capacity (a growing cooldown per provider+choice, cleared by a success) and which providers
 * fail as a whole (a circuit that opens after repeated fatal or transient errors and half-opens
 * when its cooldown ends: one success closes it, one more failure opens it again).
 */
export class ProviderHealth {
  readonly #choices = new Map<string, Cooling>();
  readonly #circuits = new Map<string, Cooling>();

  /** Records a capacity or quota answer: this choice is skipped for a growing while. */
  choiceFailed(provider: string, choice: string, now: number, baseMs: number, reason: string): Blocked {
    const key = `${provider}\u0000${choice}`;
    const failures = (this.#choices.get(key)?.failures ?? 0) + 1;
    const factor = Math.min(2 ** (failures - 1), HEALTH.maxCooldownFactor);
    const until = now + Math.min(baseMs * factor, HEALTH.maxCooldownMs);
    this.#choices.set(key, { until, reason, failures });
    return { until, reason };
  }

  /** Records a fatal or transient failure of the provider itself; may open its circuit. */
  providerFailed(
    provider: string,
    errorClass: ProviderErrorClass,
    now: number,
    baseMs: number,
    reason: string,
  ): Blocked | undefined {
    const previous = this.#circuits.get(provider);
    const failures = (previous?.failures ?? 0) + 1;
    // A fatal answer (bad credentials, bad image) will not fix itself on the next job.
    const open = errorClass === 'fatal' || failures >= HEALTH.circuitThreshold;
    const until = open ? now + Math.min(Math.max(baseMs, 1_000), HEALTH.maxCooldownMs) : 0;
    this.#circuits.set(provider, { until, reason, failures });
    return open ? { until, reason } : undefined;
  }

  /** Capacity and quota cool the choice down; anything else counts against the provider's circuit. */
  failed(
    provider: string,
    choice: string,
    errorClass: ProviderErrorClass,
    now: number,
    baseMs: number,
    reason: string,
  ): void {
    if (errorClass === 'capacity' || errorClass === 'quota')
      this.choiceFailed(provider, choice, now, baseMs, reason);
    else this.providerFailed(provider, errorClass, now, baseMs, reason);
  }

  succeeded(provider: string, choice: string): void {
    this.#choices.delete(`${provider}\u0000${choice}`);
    this.#circuits.delete(provider);
  }

  choiceBlocked(provider: string, choice: string, now: number): Blocked | undefined {
    return active(this.#choices.get(`${provider}\u0000${choice}`), now);
  }

  circuitOpen(provider: string, now: number): Blocked | undefined {
    return active(this.#circuits.get(provider), now);
  }

  /** Undefined when some choice of some provider may be tried now; else the soonest reopening. */
  allBlocked(
    chain: readonly { name: string; choices: readonly string[] }[],
    now: number,
  ): { until: number; reasons: string[] } | undefined {
    const reasons: string[] = [];
    let soonest = Number.POSITIVE_INFINITY;
    for (const provider of chain) {
      const circuit = this.circuitOpen(provider.name, now);
      if (circuit) {
        reasons.push(`${provider.name}: circuit open (${circuit.reason})`);
        soonest = Math.min(soonest, circuit.until);
        continue;
      }
      for (const choice of provider.choices) {
        const blocked = this.choiceBlocked(provider.name, choice, now);
        if (!blocked) return undefined;
        reasons.push(`${provider.name} ${choice}: cooling down (${blocked.reason})`);
        soonest = Math.min(soonest, blocked.until);
      }
    }
    return { until: soonest, reasons };
  }

  /** For `why` and metrics: every cooldown and open circuit still in force. */
  snapshot(now: number): { choices: Record<string, Blocked>; circuits: Record<string, Blocked> } {
    const choices: Record<string, Blocked> = {};
    for (const [key, entry] of this.#choices) {
      if (entry.until > now)
        choices[key.replace('\u0000', ' ')] = { until: entry.until, reason: entry.reason };
    }
    const circuits: Record<string, Blocked> = {};
    for (const [key, entry] of this.#circuits) {
      if (entry.until > now) circuits[key] = { until: entry.until, reason: entry.reason };
    }
    return { choices, circuits };
  }
}

function active(entry: Cooling | undefined, now: number): Blocked | undefined {
  if (entry === undefined || entry.until <= now) return undefined;
  return { until: entry.until, reason: entry.reason };
}
