/** What the agent of a claimed warm VM receives: exactly what `one-job --handle --wait` needs. */
export interface Assignment {
  readonly instance_url: string;
  readonly runner: { readonly uuid: string; readonly token: string; readonly name: string };
  readonly handle: string;
  readonly labels: readonly string[];
  readonly job_timeout_seconds: number;
}

export type PollAnswer =
  | { readonly status: 200; readonly assignment: Assignment }
  | { readonly status: 204 | 401 | 410 | 429 };

/**
 * What ends one wait of a held poll: the claim's handoff ran for it here (`handed`), time to look
 * at the store again (`recheck`: the claim may have been made on another replica), or the poll
 * is over (`stop`: aborted, or replaced by a newer poll of the same VM).
 */
export type Wake =
  | { readonly kind: 'handed'; readonly answer: Promise<PollAnswer> }
  | { readonly kind: 'recheck' }
  | { readonly kind: 'stop' };

/**
 * The doorbell of the polls held on this replica. The claim itself lives in the store, so any
 * replica's poll finds it by looking there; the doorbell only spares a poll held here the wait
 * for its next look when the claim was made here. Nothing secret passes through it: the runner
 * is registered by the handoff, whose answer goes straight to the poll.
 */
export class Mailbox {
  readonly #waiting = new Map<string, (wake: Wake) => void>();

  /**
   * Runs `handOff` for the poll of `vmId` held here and answers that poll with its result; the
   * same promise comes back. Undefined (and `handOff` not run) when no poll of the VM is held here.
   */
  ring(vmId: string, handOff: () => Promise<PollAnswer>): Promise<PollAnswer> | undefined {
    const waiter = this.#waiting.get(vmId);
    if (waiter === undefined) return undefined;
    this.#waiting.delete(vmId);
    const answer = handOff();
    waiter({ kind: 'handed', answer });
    return answer;
  }

  /** Wakes the poll of `vmId` held here to look at the store now (its hold ended, or it was retired). */
  nudge(vmId: string): void {
    const waiter = this.#waiting.get(vmId);
    this.#waiting.delete(vmId);
    waiter?.({ kind: 'recheck' });
  }

  /** Waits for the doorbell, at most `ms` (then `recheck`), or until the signal aborts (`stop`). */
  wait(
    vmId: string,
    ms: number,
    setTimer: (fn: () => void, ms: number) => () => void,
    signal?: AbortSignal,
  ): Promise<Wake> {
    if (signal?.aborted) return Promise.resolve({ kind: 'stop' });
    return new Promise((resolve) => {
      // A VM polls one at a time; a second poll replaces the first, which answers "nothing yet".
      const earlier = this.#waiting.get(vmId);
      this.#waiting.delete(vmId);
      earlier?.({ kind: 'stop' });
      let done = false;
      const finish = (wake: Wake) => {
        if (done) return;
        done = true;
        clear();
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiting.get(vmId) === finish) this.#waiting.delete(vmId);
        resolve(wake);
      };
      const onAbort = () => finish({ kind: 'stop' });
      const clear = setTimer(() => finish({ kind: 'recheck' }), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(vmId, finish);
    });
  }
}
