/** A seeded generator (mulberry32): the same seed gives the same fault schedule and job mix. */
export interface Random {
  next(): number;
  chance(p: number): boolean;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  fork(): Random;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  return {
    next,
    /** True with probability `p`. */
    chance(p: number): boolean {
      return next() < p;
    },
    /** A whole number in [min, max]. */
    int(min: number, max: number): number {
      return min + Math.floor(next() * (max - min + 1));
    },
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    /** A new generator derived from this one, so one component's draws do not shift another's. */
    fork(): Random {
      return seededRandom(Math.floor(next() * 4_294_967_296));
    },
  };
}
