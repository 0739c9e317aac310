import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:ms|s|m|h|d))+$/;

/** Parses Go-style durations (`90s`, `10m`, `1h30m`, `250ms`, `1d`) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** A duration written as text in YAML, read as milliseconds, within [min, max]. */
export function Duration(bounds: { min?: number; max?: number } = {}) {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? 30 * 86_400_000;
  // The range travels as metadata so the generated config reference can print it.
  const range = { min: formatDuration(min), max: formatDuration(max) };
  return z
    .string({ error: 'expected a duration such as 90s, 10m or 1h30m' })
    .meta({ 'x-duration': range })
    .transform((text, ctx) => {
      const ms = parseDuration(text.trim());
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${text}" (use e.g. 90s, 10m, 1h30m)` });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `duration ${text} is out of range (${formatDuration(min)} to ${formatDuration(max)})`,
        });
        return z.NEVER;
      }
      return ms;
    });
}
