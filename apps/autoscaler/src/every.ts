import type { Logger } from 'pino';
import type { Clock } from './clock.js';

/**
 * Runs `task` now (or after one interval with `delayFirst`) and then every `intervalMs` after the
 * previous run ends, until `signal` aborts; never two at once. `stopped` resolves when it has exited.
 */
export function every(
  name: string,
  intervalMs: number,
  task: (signal: AbortSignal) => Promise<unknown>,
  deps: { clock: Clock; log: Logger; signal: AbortSignal; delayFirst?: boolean },
): { stopped: Promise<void> } {
  async function run(): Promise<void> {
    if (deps.delayFirst) await deps.clock.sleep(intervalMs, deps.signal);
    while (!deps.signal.aborted) {
      try {
        await task(deps.signal);
      } catch (error) {
        if (!deps.signal.aborted)
          deps.log.warn({ loop: name, err: (error as Error).message }, 'loop task failed');
      }
      await deps.clock.sleep(intervalMs, deps.signal);
    }
  }
  return { stopped: run() };
}
