/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export interface Bucket {
  take(): boolean;
}

export function tokenBucket(burst: number, perSecond: number, now: () => number): Bucket {
  let tokens = burst;
  let at = now();
  return {
    take(): boolean {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - at) / 1000) * perSecond);
      at = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/**
 * One bucket per key (a source address, a VM id), at most `capacity` of them: the least recently
 * used key is evicted first. Evicting one old key (rather than clearing the map when full) means
 * a flood of new keys cannot reset the buckets of the busy ones it is meant to limit.
 */
export class BucketMap {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly capacity: number,
    private readonly create: () => Bucket,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      // Map keeps insertion order: re-inserting marks the key as the most recently used.
      this.#buckets.delete(key);
    } else {
      bucket = this.create();
      if (this.#buckets.size >= this.capacity) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(key, bucket);
    return bucket.take();
  }
}
