import type { Database } from '@strata/platform';

/** A token bucket's shape: it holds at most `capacity` and refills `perSecond` continuously. */
export interface BucketShape {
  capacity: number;
  perSecond: number;
}

export interface TakeResult {
  ok: boolean;
  /** Tokens left after the take (negative while a bucket is in debt). */
  remaining: number;
  /** When refused: seconds until the bucket holds enough. */
  retryAfterSeconds: number;
}

/**
 * Token buckets, the port. `take` removes `cost` if the bucket holds at least that much; with `debt` it always
 * removes it, letting the bucket go negative (used to charge tokens once a response's size is known).
 */
export interface TokenBucketStore {
  take(bucket: string, cost: number, shape: BucketShape, options?: { debt?: boolean }): Promise<TakeResult>;
}

const refused = (level: number, cost: number, shape: BucketShape): TakeResult => ({
  ok: false,
  remaining: level,
  retryAfterSeconds: Math.max(0, (cost - level) / shape.perSecond),
});

/** In-process buckets: the embedded default, exact for one replica. */
export class InMemoryTokenBuckets implements TokenBucketStore {
  private readonly buckets = new Map<string, { level: number; at: number }>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  async take(
    bucket: string,
    cost: number,
    shape: BucketShape,
    options: { debt?: boolean } = {},
  ): Promise<TakeResult> {
    const at = this.now();
    const state = this.buckets.get(bucket);
    const level = state
      ? Math.min(shape.capacity, state.level + ((at - state.at) / 1000) * shape.perSecond)
      : shape.capacity;
    if (level < cost && !options.debt) return refused(level, cost, shape);
    this.buckets.set(bucket, { level: level - cost, at });
    return { ok: true, remaining: level - cost, retryAfterSeconds: 0 };
  }
}

/**
 * Buckets in the database, shared by every replica. One statement refills and takes atomically (the upsert
 * locks the row), so concurrent requests on many replicas never overdraw a bucket. The database's clock is the
 * only clock, so replicas with skewed clocks agree.
 */
export class DatabaseTokenBuckets implements TokenBucketStore {
  constructor(private readonly database: Database) {}

  async take(
    bucket: string,
    cost: number,
    shape: BucketShape,
    options: { debt?: boolean } = {},
  ): Promise<TakeResult> {
    const refill = `least($2::float8, b.tokens + extract(epoch from (clock_timestamp() - b.updated_at)) * $3::float8)`;
    const { rows } = await this.database.query<{ tokens: number }>(
      `insert into governance_rate_buckets as b (bucket, tokens, updated_at)
       select $1, $2::float8 - $4::float8, clock_timestamp() where $5 or $2::float8 >= $4::float8
       on conflict (bucket) do update set tokens = ${refill} - $4::float8, updated_at = clock_timestamp()
         where $5 or ${refill} >= $4::float8
       returning tokens`,
      [bucket, shape.capacity, shape.perSecond, cost, options.debt ?? false],
    );
    if (rows[0]) return { ok: true, remaining: rows[0].tokens, retryAfterSeconds: 0 };
    const current = await this.database.query<{ level: number }>(
      `select least($2::float8, tokens + extract(epoch from (clock_timestamp() - updated_at)) * $3::float8) as level
         from governance_rate_buckets where bucket = $1`,
      [bucket, shape.capacity, shape.perSecond],
    );
    return refused(current.rows[0]?.level ?? shape.capacity, cost, shape);
  }
}
