/** Seconds a throttled client should wait, and whether it is throttled at all. */
export interface AuthFailureVerdict {
  throttled: boolean;
  retryAfterSeconds: number;
}

export interface AuthFailureLimiterOptions {
  /** Failed authentications a client address may make per minute (also the burst). */
  perMinute: number;
  /** Addresses tracked at most; beyond it the fullest buckets (the least suspicious) are forgotten first. */
  maxAddresses?: number;
  now?: () => number;
}

/**
 * Rate-limits failed authentication per client address, in process: a token bucket per address that each failure
 * drains and that refills at `perMinute`. An address that has run out gets 429 with `Retry-After` for its
 * unauthenticated requests, while requests with a valid key from the same address (a shared NAT) are unaffected.
 * Memory is bounded by `maxAddresses`, so a spray of addresses cannot grow it without limit. Each replica keeps its
 * own buckets; the limit is per replica.
 */
export class AuthFailureLimiter {
  private readonly buckets = new Map<string, { level: number; at: number }>();
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(options: AuthFailureLimiterOptions) {
    this.capacity = options.perMinute;
    this.perMs = options.perMinute / 60_000;
    this.maxAddresses = options.maxAddresses ?? 50_000;
    this.now = options.now ?? (() => Date.now());
  }

  /** Whether `address` is throttled now, without charging it. */
  check(address: string): AuthFailureVerdict {
    const level = this.level(address, this.now());
    return level >= 1
      ? { throttled: false, retryAfterSeconds: 0 }
      : { throttled: true, retryAfterSeconds: Math.max(1, Math.ceil((1 - level) / this.perMs / 1000)) };
  }

  /** Charges one failure to `address`. */
  fail(address: string): void {
    const at = this.now();
    const level = this.level(address, at);
    this.buckets.delete(address);
    this.buckets.set(address, { level: Math.max(0, level - 1), at });
    if (this.buckets.size > this.maxAddresses) this.evict(at);
  }

  private level(address: string, at: number): number {
    const state = this.buckets.get(address);
    if (!state) return this.capacity;
    return Math.min(this.capacity, state.level + (at - state.at) * this.perMs);
  }

  /** Forgets refilled buckets, then the oldest ones (Map order is insertion order: least recently failed first). */
  private evict(at: number): void {
    for (const [address] of this.buckets) {
      if (this.level(address, at) >= this.capacity) this.buckets.delete(address);
    }
    for (const [address] of this.buckets) {
      if (this.buckets.size <= this.maxAddresses) break;
      this.buckets.delete(address);
    }
  }
}
