/** The poll settings the schedule reads (config `poll`, in ms). */
export interface PollTiming {
  readonly interval: number;
  readonly jitter: number;
  readonly fast_interval: number;
  readonly max_backoff: number;
}

/**
 * Delay before the next poll of one scope. Healthy: the interval shifted by up to ±jitter, or the
 * fast interval inside a fast window (after a push-like webhook). Failing: exponential backoff from
 * the interval up to `max_backoff`, jittered the same way, so a broken scope costs little.
 */
export function nextPollDelay(
  timing: PollTiming,
  state: { readonly now: number; readonly fastUntil: number; readonly consecutiveErrors: number },
  random: () => number,
): number {
  const shift = (ms: number) => Math.round(ms * (1 + timing.jitter * (2 * random() - 1)));
  if (state.consecutiveErrors > 0) {
    const backoff = Math.min(timing.max_backoff, timing.interval * 2 ** (state.consecutiveErrors - 1));
    return Math.min(timing.max_backoff, shift(backoff));
  }
  const normal = shift(timing.interval);
  return state.now < state.fastUntil ? Math.min(normal, timing.fast_interval) : normal;
}
