import type { RunJob } from '@forgejo-fleet/forgejo';
import { type Clock, every, type Loop } from '@forgejo-fleet/runtime';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { resolveIdentity } from '../scopes/identity.js';
import type { ScopeState } from '../scopes/scope-state.js';
import { classifyError } from './classify-error.js';
import { nextPollDelay, type PollTiming } from './schedule.js';

/** Webhook-triggered polls of one scope start at least this far apart, whatever the delivery rate. */
export const MIN_TRIGGERED_GAP_MS = 100;

export interface PollerDeps {
  readonly state: ScopeState;
  readonly clock: Clock;
  readonly random: () => number;
  readonly timing: PollTiming & { readonly fast_window: number };
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Gets the waiting jobs of each successful poll; must not throw. */
  readonly onJobs: (state: ScopeState, waiting: readonly RunJob[]) => void;
}

export type TickResult = 'ok' | 'error';

/**
 * Polls one scope's queue: one list call per tick, whatever the queue length. Errors back the
 * scope off without touching the others; `pollNow` (webhooks) wakes it early.
 */
export function createPoller(deps: PollerDeps) {
  const { state, clock, metrics } = deps;
  const log = deps.log.child({ scope: state.key });
  const stop = new AbortController();
  let consecutiveErrors = 0;
  let fastUntil = 0;
  let loop: Loop | undefined;

  function fail(error: unknown): void {
    const { kind, status, message } = classifyError(error);
    consecutiveErrors++;
    metrics.pollErrors.inc({ scope: state.key, kind });
    metrics.scopeUp.set({ scope: state.key }, 0);
    const previous = state.health;
    if (kind === 'auth') {
      metrics.scopeAuthFailures.inc({ scope: state.key });
      state.health = { status: 'auth_rejected', httpStatus: status ?? 0, message };
    } else {
      state.health = { status: 'failing', kind, message };
    }
    // Log on change, then every 10th failure, so a long outage does not flood the log.
    if (previous.status !== state.health.status || consecutiveErrors % 10 === 1) {
      log.warn({ kind, status, err: message, consecutiveErrors }, 'poll failed; backing off');
    }
  }

  async function tick(): Promise<TickResult> {
    const signal = stop.signal;
    try {
      if (state.identity === undefined) {
        state.identity = await resolveIdentity(state.client, state.scope, signal);
        log.debug({ identity: state.identity }, 'scope resolved');
      }
      const started = performance.now();
      const jobs = await state.client.listJobs(state.scope, { signal });
      metrics.pollDuration.observe({ scope: state.key }, (performance.now() - started) / 1000);
      const waiting = jobs.filter((job) => job.status === 'waiting');
      metrics.waitingJobs.set({ scope: state.key }, waiting.length);
      metrics.scopeUp.set({ scope: state.key }, 1);
      if (state.health.status !== 'ok' && state.health.status !== 'starting') {
        log.info({ after: consecutiveErrors }, 'poll recovered');
      }
      consecutiveErrors = 0;
      state.health = { status: 'ok', at: clock.now() };
      deps.onJobs(state, waiting);
      return 'ok';
    } catch (error) {
      if (signal.aborted) return 'error';
      fail(error);
      return 'error';
    }
  }

  return {
    state,
    tick,
    start(): void {
      if (stop.signal.aborted) return;
      // The next delay is asked after every poll: it depends on the errors and the fast window.
      loop ??= every(
        () => nextPollDelay(deps.timing, { now: clock.now(), fastUntil, consecutiveErrors }, deps.random),
        tick,
        {
          name: `poll ${state.key}`,
          clock,
          log,
          immediate: true,
          // Webhook-triggered polls stay apart, whatever the delivery rate.
          minGapMs: MIN_TRIGGERED_GAP_MS,
          signal: stop.signal,
        },
      );
    },
    /** Poll as soon as possible; `fast` also opens a fast window (jobs are about to appear). */
    pollNow(opts: { fast?: boolean } = {}): void {
      if (opts.fast) fastUntil = Math.max(fastUntil, clock.now() + deps.timing.fast_window);
      loop?.now();
    },
    async stop(): Promise<void> {
      stop.abort();
      await loop?.stopped;
    },
  };
}

export type Poller = ReturnType<typeof createPoller>;
