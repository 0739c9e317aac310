const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go `time.ParseDuration` (e.g. `2s`, `1m30s`, `500ms`, `0`) in milliseconds; null when invalid. */
export function parseGoDuration(input: string): number | null {
  if (input === '0' || input === '+0' || input === '-0') return 0;
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(input);
  if (!m) return null;
  let total = 0;
  for (const part of input.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (UNIT_MS[part[2] ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) return null;
  return m[1] === '-' ? -total : total;
}
