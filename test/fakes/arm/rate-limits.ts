/** One token bucket: how many requests it holds and how fast it refills (per ARM second). */
export interface BucketConfig {
  readonly size: number;
  readonly refillPerSecond: number;
}

/** Per-subscription buckets by request kind. */
export interface RateLimitConfig {
  readonly reads: BucketConfig;
  readonly writes: BucketConfig;
  readonly deletes: BucketConfig;
}

/**
 * ARM's subscription limits under its token bucket algorithm: reads 250 (refilled 25 per second),
 * writes 200 (10 per second), deletes 200 (10 per second). Source:
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling#regional-throttling-and-token-bucket-algorithm
 */
export const ARM_RATE_LIMITS: RateLimitConfig = {
  reads: { size: 250, refillPerSecond: 25 },
  writes: { size: 200, refillPerSecond: 10 },
  deletes: { size: 200, refillPerSecond: 10 },
};

export type RequestKind = 'reads' | 'writes' | 'deletes';

/** GET/HEAD are reads, DELETE deletes, everything else writes (as ARM counts them). */
export function requestKind(method: string): RequestKind {
  if (method === 'GET' || method === 'HEAD') return 'reads';
  if (method === 'DELETE') return 'deletes';
  return 'writes';
}

/** What taking a token gave. */
export interface TokenTaken {
  readonly ok: boolean;
  /** Tokens left in the bucket (the x-ms-ratelimit-remaining-subscription-* header). */
  readonly remaining: number;
  /** When refused: ARM seconds until a token is back (Retry-After). */
  readonly retryAfterSeconds: number;
}

/**
 * The subscription's token buckets. Time is ARM time: a bucket refills `refillPerSecond` tokens
 * per ARM second, that is per `1000 x timeScale` real milliseconds.
 */
export class RateLimits {
  private config: RateLimitConfig;
  private readonly level = new Map<RequestKind, { tokens: number; at: number }>();

  constructor(
    config: Partial<RateLimitConfig> = {},
    private readonly timeScale: () => number,
  ) {
    this.config = { ...ARM_RATE_LIMITS, ...config };
  }

  get(): RateLimitConfig {
    return this.config;
  }

  /** Changes bucket sizes or refill rates; the buckets start full again. */
  set(change: Partial<RateLimitConfig>): RateLimitConfig {
    this.config = { ...this.config, ...change };
    this.level.clear();
    return this.config;
  }

  private bucket(kind: RequestKind): { tokens: number; at: number } {
    const now = Date.now();
    const c = this.config[kind];
    let b = this.level.get(kind);
    if (!b) this.level.set(kind, (b = { tokens: c.size, at: now }));
    const armSeconds = (now - b.at) / 1000 / Math.max(this.timeScale(), 1e-9);
    b.tokens = Math.min(c.size, b.tokens + armSeconds * c.refillPerSecond);
    b.at = now;
    return b;
  }

  /** Takes one token for a request of `kind`. */
  take(kind: RequestKind): TokenTaken {
    const b = this.bucket(kind);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens), retryAfterSeconds: 0 };
    }
    const rate = this.config[kind].refillPerSecond;
    return {
      ok: false,
      remaining: 0,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / Math.max(rate, 1e-9))),
    };
  }

  /** Tokens left, without taking one. */
  remaining(kind: RequestKind): number {
    return Math.floor(this.bucket(kind).tokens);
  }
}
