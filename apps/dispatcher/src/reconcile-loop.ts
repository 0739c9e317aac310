import type { Logger } from 'pino';

/** Time and timers for the loop (tests pass a fake clock that they move). */
export interface LoopTimers {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel. */
  after(fn: () => void, ms: number): () => void;
}

export const REAL_TIMERS: LoopTimers = {
  now: Date.now,
  after(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface ReconcileLoop {
  /**
   * Asks for a pass soon. Never two at once, and at most one start per `minGapMs`: an ask while a
   * pass runs gets one more pass after it; an ask inside the gap joins the pass already scheduled
   * for the gap's end. However many ask, the providers are listed once per gap.
   */
  request(): void;
  /** Stops the timers and waits for the running pass. */
  stop(): Promise<void>;
}

/** Runs `tick` every `intervalMs` and on request, single-flight and spaced by `minGapMs`. */
export function startReconcileLoop(options: {
  readonly intervalMs: number;
  readonly minGapMs: number;
  readonly tick: (signal: AbortSignal) => Promise<void>;
  readonly log: Logger;
  readonly timers?: LoopTimers;
}): ReconcileLoop {
  const { intervalMs, minGapMs, tick, log } = options;
  const timers = options.timers ?? REAL_TIMERS;
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let again = false;
  let lastStart = Number.NEGATIVE_INFINITY;
  let cancelScheduled: (() => void) | undefined;

  function request(): void {
    if (controller.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    if (cancelScheduled) return;
    const wait = lastStart + minGapMs - timers.now();
    if (wait > 0) {
      cancelScheduled = timers.after(() => {
        cancelScheduled = undefined;
        start();
      }, wait);
      return;
    }
    start();
  }

  function start(): void {
    if (controller.signal.aborted) return;
    lastStart = timers.now();
    running = tick(controller.signal)
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'reconcile pass failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          request();
        }
      });
  }

  let cancelPeriodic = timers.after(function periodic() {
    request();
    cancelPeriodic = timers.after(periodic, intervalMs);
  }, intervalMs);

  return {
    request,
    async stop() {
      cancelPeriodic();
      cancelScheduled?.();
      controller.abort();
      await running;
    },
  };
}
