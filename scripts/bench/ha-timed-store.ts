/**
 * A store that times its own calls, for the benchmarks' "what dominates": every method call's
 * wall time (until its promise settles) is added up, so a run can say how much of a dispatch was
 * spent waiting on the store. Overlapping calls each count in full.
 */
import { performance } from 'node:perf_hooks';
import type { Store } from '@forgejo-fleet/store';

export interface StoreTiming {
  /** Total milliseconds inside store calls since the last `reset`. */
  readonly ms: number;
  readonly calls: number;
  reset(): void;
}

export function timedStore<S extends Store>(store: S): { store: S; timing: StoreTiming } {
  let ms = 0;
  let calls = 0;
  const timed = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const done = () => {
          ms += performance.now() - started;
          calls++;
        };
        const answer = value.apply(target, args);
        if (answer instanceof Promise) return answer.finally(done);
        done();
        return answer;
      };
    },
  });
  return {
    store: timed,
    timing: {
      get ms() {
        return ms;
      },
      get calls() {
        return calls;
      },
      reset() {
        ms = 0;
        calls = 0;
      },
    },
  };
}
