import type { Decision, NewDecision, Store } from '@forgejo-fleet/store';
import type { Logger } from 'pino';

export type DecisionInput = Omit<NewDecision, 'at'>;

export interface DecisionLog {
  /** Never throws: a decision that cannot be written is logged, and the work goes on. */
  record(decision: DecisionInput): Promise<void>;
}

export interface DecisionLogDeps {
  readonly store: Pick<Store, 'appendDecision'>;
  readonly now: () => number;
  readonly log: Logger;
  /** Appends one JSON line to the decision log file (absent: store only). */
  readonly appendLine?: (line: string) => void;
}

/**
 * The append-only record of what the dispatcher did and why: in the store (for `why`) and as
 * JSON lines (for operators' log shipping), with the same sequence number in both.
 */
export function createDecisionLog(deps: DecisionLogDeps): DecisionLog {
  return {
    async record(input) {
      let decision: Decision;
      try {
        decision = await deps.store.appendDecision({ ...input, at: deps.now() });
      } catch (error) {
        deps.log.error({ err: (error as Error).message, kind: input.kind }, 'decision not stored');
        return;
      }
      deps.log.info(
        { decision: decision.kind, dispatchId: decision.dispatch_id, provider: decision.provider },
        decision.reason,
      );
      try {
        deps.appendLine?.(`${JSON.stringify({ ...decision, at: new Date(decision.at).toISOString() })}\n`);
      } catch (error) {
        deps.log.warn({ err: (error as Error).message }, 'decision log file not written');
      }
    },
  };
}
