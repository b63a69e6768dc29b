import { GovernanceError } from '../governance-error';
import type { Principal } from '../identity/principal';
import type { BucketShape, TokenBucketStore } from './token-buckets';

const perMinute = (limit: number): BucketShape => ({ capacity: limit, perSecond: limit / 60 });

/**
 * Per-key limits, as token buckets: requests per minute, and tokens (prompt plus generated) per minute. A request
 * is admitted while its key has a request left and is not in token debt; its tokens are charged when they are
 * known, so one long answer can push the key into debt and the next request waits for the refill.
 */
export class RateLimiter {
  constructor(private readonly buckets: TokenBucketStore) {}

  /** Admits a request or throws `rate_limited` with `Retry-After` and the limit that was hit. */
  async admit(principal: Principal): Promise<void> {
    const { requestsPerMinute, tokensPerMinute } = principal.limits;
    if (tokensPerMinute !== undefined) {
      const tokens = await this.buckets.take(`tpm:${principal.keyId}`, 0, perMinute(tokensPerMinute));
      if (!tokens.ok)
        throw limitHit(principal, `${tokensPerMinute} tokens per minute`, tokens.retryAfterSeconds);
    }
    if (requestsPerMinute !== undefined) {
      const requests = await this.buckets.take(`rpm:${principal.keyId}`, 1, perMinute(requestsPerMinute));
      if (!requests.ok)
        throw limitHit(principal, `${requestsPerMinute} requests per minute`, requests.retryAfterSeconds);
    }
  }

  /** Charges the tokens a request used. */
  async charge(principal: Principal, tokens: number): Promise<void> {
    const { tokensPerMinute } = principal.limits;
    if (tokensPerMinute === undefined || tokens <= 0) return;
    await this.buckets.take(`tpm:${principal.keyId}`, tokens, perMinute(tokensPerMinute), { debt: true });
  }
}

function limitHit(principal: Principal, limit: string, retryAfterSeconds: number): GovernanceError {
  return new GovernanceError(
    'rate_limited',
    `rate limit exceeded for key ${principal.keyId}: ${limit}; retry in ${Math.ceil(retryAfterSeconds)} s`,
    { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) },
  );
}
