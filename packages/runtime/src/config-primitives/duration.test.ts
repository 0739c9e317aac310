import { describe, expect, it } from 'vitest';
import { Duration, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1d', 86_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', '10 minutes', '-5s', '1.5h', 'm'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats whole units', () => {
    expect([3_600_000, 120_000, 5_000, 1].map(formatDuration)).toEqual(['1h', '2m', '5s', '1ms']);
    expect([0, 86_400_000, 7 * 86_400_000].map(formatDuration)).toEqual(['0s', '1d', '7d']);
  });

  it('enforces bounds in the schema', () => {
    expect(Duration({ min: 1_000 }).safeParse('10ms').success).toBe(false);
    expect(Duration({ min: 1_000 }).safeParse('10s').data).toBe(10_000);
  });
});
