import type { Logger } from 'pino';
import { type Clock, sleepUnlessAborted } from './clock.js';

export interface LoopOptions {
  /** Names the loop in its log lines (`loop: name`). */
  readonly name: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Starts of two ticks are at least this far apart, however often `now()` is called. Default 0. */
  readonly minGapMs?: number;
  /** Run the first tick at once instead of after one interval. Default false. */
  readonly immediate?: boolean;
  /** Stops the loop when it aborts, as `stop()` does. */
  readonly signal?: AbortSignal;
}

export interface Loop {
  /**
   * Asks for a tick soon. Never two at once: an ask while a tick runs gets one more tick after it;
   * an ask inside the minimum gap joins the tick already due at the gap's end.
   */
  now(): void;
  /** Stops the loop: aborts the running tick's signal and waits for it to end. */
  stop(): Promise<void>;
  /** Resolves when the loop has exited. */
  readonly stopped: Promise<void>;
}

/**
 * Runs `tick` every `interval` ms, counted from the end of the previous tick (a function is asked
 * after every tick, for schedules that back off or speed up), and on `now()`. Single-flight; a
 * failed tick is logged and the loop goes on. All waiting goes through `clock`, so tests drive it
 * with a fake clock.
 */
export function every(
  interval: number | (() => number),
  tick: (signal: AbortSignal) => Promise<unknown>,
  options: LoopOptions,
): Loop {
  const { clock, log, name } = options;
  const minGapMs = options.minGapMs ?? 0;
  if (typeof interval === 'number') checkMs('interval', interval);
  checkMs('minGapMs', minGapMs);
  const nextDelay = typeof interval === 'number' ? () => interval : interval;
  const halt = new AbortController();
  // Aborted by `now()` to cut the idle wait short; `halt` aborts it too, so each wait needs one signal.
  let wake = new AbortController();
  let asked = false;
  let lastStart = Number.NEGATIVE_INFINITY;

  function stopLoop(): void {
    halt.abort();
    wake.abort();
  }
  options.signal?.addEventListener('abort', stopLoop, { once: true });
  if (options.signal?.aborted) stopLoop();

  async function idle(ms: number): Promise<void> {
    if (asked || halt.signal.aborted) return;
    wake = new AbortController();
    await sleepUnlessAborted(clock, ms, wake.signal);
  }

  async function run(): Promise<void> {
    if (!options.immediate) await idle(nextDelay());
    while (!halt.signal.aborted) {
      const gap = lastStart + minGapMs - clock.now();
      if (gap > 0) await sleepUnlessAborted(clock, gap, halt.signal);
      if (halt.signal.aborted) break;
      asked = false;
      lastStart = clock.now();
      try {
        await tick(halt.signal);
      } catch (error) {
        if (!halt.signal.aborted) {
          log.warn(
            { loop: name, err: error instanceof Error ? error.message : String(error) },
            'loop tick failed',
          );
        }
      }
      if (halt.signal.aborted) break;
      await idle(nextDelay());
    }
    options.signal?.removeEventListener('abort', stopLoop);
  }

  const stopped = run();
  return {
    now() {
      if (halt.signal.aborted) return;
      asked = true;
      wake.abort();
    },
    async stop() {
      stopLoop();
      await stopped;
    },
    stopped,
  };
}

function checkMs(field: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${field} must be a finite number >= 0`);
}
