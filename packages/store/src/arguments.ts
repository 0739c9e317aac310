import { InvalidArgumentError } from './errors.js';
import { isDispatchState } from './state-machine.js';
import { DECISION_KINDS, WARM_STATES } from './types.js';

// Types stop TypeScript callers; these stop a JavaScript caller or a cast from writing a row the
// read side would then reject as corrupt. Every backend checks its arguments here, before SQL.

export function checkState(field: string, state: unknown): void {
  if (!isDispatchState(state))
    throw new InvalidArgumentError(field, `unknown state ${JSON.stringify(state)}`);
}

export function checkTime(field: string, at: unknown): void {
  if (!Number.isSafeInteger(at)) {
    throw new InvalidArgumentError(field, `must be epoch milliseconds as an integer, got ${String(at)}`);
  }
}

export function checkDecisionKind(kind: unknown): void {
  if (!(DECISION_KINDS as readonly unknown[]).includes(kind)) {
    throw new InvalidArgumentError('kind', `unknown decision kind ${JSON.stringify(kind)}`);
  }
}

export function checkWarmStates(states: readonly unknown[]): void {
  for (const state of states) {
    if (!(WARM_STATES as readonly unknown[]).includes(state)) {
      throw new InvalidArgumentError('state', `unknown warm state ${JSON.stringify(state)}`);
    }
  }
}

export function checkPruneLimit(limit: unknown): void {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
    throw new InvalidArgumentError('limit', `must be a positive integer, got ${String(limit)}`);
  }
}
