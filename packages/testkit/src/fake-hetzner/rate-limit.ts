const EPSILON = 1e-9;

/** The project's token bucket as Hetzner documents it; `take` answers the RateLimit-* headers. */
export function projectBucket(now: () => number, limit: number, refillPerSecond: number) {
  let tokens = limit;
  let updatedAt = now();

  function refill() {
    const t = now();
    tokens = Math.min(limit, tokens + ((t - updatedAt) * refillPerSecond) / 1_000);
    updatedAt = t;
  }

  function headers(): Record<string, string> {
    const missing = limit - tokens;
    return {
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': String(Math.floor(tokens + EPSILON)),
      'RateLimit-Reset': String(Math.ceil((updatedAt + (missing * 1_000) / refillPerSecond) / 1_000)),
    };
  }

  return {
    /** Spends one request; `ok: false` when the bucket is empty (→ 429 rate_limit_exceeded). */
    take(): { ok: boolean; headers: Record<string, string> } {
      refill();
      if (tokens + EPSILON < 1) return { ok: false, headers: headers() };
      tokens -= 1;
      return { ok: true, headers: headers() };
    },
  };
}
