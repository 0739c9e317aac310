/**
 * Keys remembered for a while, with a hard cap on how many: the oldest go first when full, so a
 * flood of new keys (a burst of jobs, forged delivery ids) costs bounded memory.
 */
export class ExpiringSet<V = true> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: { max: number; now: () => number }) {
    if (!(opts.max >= 1)) throw new RangeError('max must be >= 1');
    this.#max = opts.max;
    this.#now = opts.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Remembers `key` for `ttlMs` (replacing an earlier entry); evicts the oldest entry when full. */
  set(key: string, ttlMs: number, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
    if (this.#entries.size > this.#max) this.#evict();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #evict(): void {
    // Map iteration is insertion order: the oldest entries go first.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#max) return;
      this.#entries.delete(key);
    }
  }
}
