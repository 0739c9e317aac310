import { describe, expect, it } from 'vitest';
import { ExpiringSet } from './expiring-set.js';

describe('ExpiringSet', () => {
  it('forgets entries after their time and evicts the oldest beyond the cap', () => {
    let now = 0;
    const set = new ExpiringSet<string>({ max: 2, now: () => now });
    set.set('a', 100, 'A');
    set.set('b', 10, 'B');
    expect(set.get('a')).toBe('A');
    now = 10;
    expect(set.has('b')).toBe(false);
    set.set('c', 100, 'C');
    set.set('d', 100, 'D');
    expect(set.size).toBe(2);
    expect(set.has('a')).toBe(false);
    expect([set.get('c'), set.get('d')]).toEqual(['C', 'D']);
  });
});
