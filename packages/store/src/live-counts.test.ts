import { describe, expect, it } from 'vitest';
import { foldLiveGroups, routeScopeKey } from './live-counts.js';

describe('foldLiveGroups', () => {
  it('sums route × scope groups per route and per scope', () => {
    const counts = foldLiveGroups([
      { route: 'small', scope: 'org:a', n: 2 },
      { route: 'small', scope: 'org:b', n: 3 },
      { route: 'large', scope: 'org:a', n: 4 },
    ]);

    expect(counts.total).toBe(9);
    expect(counts.byRoute).toEqual(
      new Map([
        ['small', 5],
        ['large', 4],
      ]),
    );
    expect(counts.byScope).toEqual(
      new Map([
        ['org:a', 6],
        ['org:b', 3],
      ]),
    );
    expect(counts.byRouteScope.get(routeScopeKey('large', 'org:a'))).toBe(4);
  });
});
