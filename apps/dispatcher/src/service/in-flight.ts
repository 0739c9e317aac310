import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from './deps.js';
import { errorSummary } from './errors.js';
import { heartbeat, type Timer } from './heartbeat.js';
import { type ProvisionContext, provision } from './provision.js';

/**
 * The dispatches this process is provisioning right now, each at most once: the reconciler
 * never resumes one under its feet, a cancel can wait for its create, shutdown can drain them.
 */
export class InFlight {
  readonly #work = new Map<string, Promise<void>>();
  /** Tells the other replicas (their resume step) that this one works on these dispatches. */
  readonly #heartbeat;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly context: ProvisionContext,
    timer: Timer,
  ) {
    this.#heartbeat = heartbeat(deps, () => [...this.#work.keys()], timer);
  }

  has(id: string): boolean {
    return this.#work.has(id);
  }

  /** Provisions the dispatch in the background; a crash is logged and left to the reconciler. */
  start(record: DispatchRecord): void {
    if (this.#work.has(record.id)) return;
    const work = provision(this.deps, this.context, record)
      .catch((error: unknown) => {
        this.deps.observer.error('internal');
        this.deps.log.error(
          { dispatchId: record.id, err: errorSummary(error) },
          'provisioning crashed; the reconciler will resume it',
        );
      })
      .finally(() => this.#work.delete(record.id));
    this.#work.set(record.id, work);
    this.#heartbeat.wake();
  }

  /** Waits for the dispatch's provisioning to settle, at most `ms` (a cancel answers either way). */
  async settle(id: string, ms: number): Promise<void> {
    const work = this.#work.get(id);
    if (work === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    await Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** Waits until nothing is in flight, including what finishing work started. */
  async drain(): Promise<void> {
    while (this.#work.size > 0) await Promise.all([...this.#work.values()]);
  }
}
