import { describe, expect, it } from 'vitest';
import { findAmbiguousRoutes, selectRoute } from './routing.js';

const routes = [
  { name: 'gpu', labels: ['linux', 'gpu', 'large'] },
  { name: 'small', labels: ['linux', 'small'] },
  { name: 'arm', labels: ['linux', 'arm64'] },
  { name: 'generic', labels: ['linux'] },
];

describe('selectRoute', () => {
  it.each([
    [['linux'], 'generic'],
    [['linux', 'small'], 'small'],
    [['gpu'], 'gpu'],
    [['small'], 'small'],
    [['linux', 'gpu', 'small'], undefined],
    [[], undefined],
  ])('runs-on %j goes to %s', (runsOn, expected) => {
    expect(selectRoute(routes, runsOn)?.name).toBe(expected);
  });
});

describe('findAmbiguousRoutes', () => {
  it('accepts routes whose ties are broken by a smaller route', () => {
    expect(findAmbiguousRoutes(routes)).toEqual([]);
  });

  it('finds two equally sized routes sharing labels', () => {
    expect(findAmbiguousRoutes(routes.slice(0, 3))).toEqual([{ first: 1, second: 2, shared: ['linux'] }]);
  });
});
