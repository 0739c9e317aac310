/** What the agent of a claimed warm VM receives: exactly what `one-job --handle --wait` needs. */
export interface Assignment {
  readonly instance_url: string;
  readonly runner: { readonly uuid: string; readonly token: string; readonly name: string };
  readonly handle: string;
  readonly labels: readonly string[];
  readonly job_timeout_seconds: number;
}

/**
 * Hands an assignment to a warm VM's agent: to the poll waiting right now, or to the next one.
 * In memory only: the runner token is never written to the store, so after a restart an
 * undelivered assignment is lost and the VM is retired (its job gets a fresh VM).
 */
export class Mailbox {
  readonly #waiting = new Map<string, (assignment: Assignment | undefined) => void>();
  readonly #parked = new Map<string, Assignment>();

  deliver(vmId: string, assignment: Assignment): void {
    const waiter = this.#waiting.get(vmId);
    if (waiter) {
      this.#waiting.delete(vmId);
      waiter(assignment);
    } else this.#parked.set(vmId, assignment);
  }

  /** The assignment, as soon as there is one, or undefined after `holdMs` (or on abort). */
  wait(
    vmId: string,
    holdMs: number,
    setTimer: (fn: () => void, ms: number) => () => void,
    signal?: AbortSignal,
  ): Promise<Assignment | undefined> {
    const parked = this.#parked.get(vmId);
    if (parked) {
      this.#parked.delete(vmId);
      return Promise.resolve(parked);
    }
    return new Promise((resolve) => {
      // A VM polls one at a time; a second poll replaces the first, which answers "nothing yet".
      this.#waiting.get(vmId)?.(undefined);
      let done = false;
      const finish = (value: Assignment | undefined) => {
        if (done) return;
        done = true;
        clear();
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiting.get(vmId) === finish) this.#waiting.delete(vmId);
        resolve(value);
      };
      const onAbort = () => finish(undefined);
      const clear = setTimer(() => finish(undefined), holdMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(vmId, finish);
    });
  }

  /** Drops whatever waits for a VM that is gone. */
  forget(vmId: string): void {
    this.#parked.delete(vmId);
    this.#waiting.get(vmId)?.(undefined);
    this.#waiting.delete(vmId);
  }
}
