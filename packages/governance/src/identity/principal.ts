import type { Role } from './permissions';

/** Per-key limits; absent fields mean "no limit beyond the role's". */
export interface KeyLimits {
  /** Requests per minute. */
  requestsPerMinute?: number;
  /** Prompt plus generated tokens per minute. */
  tokensPerMinute?: number;
  /** Cap on `max_new_tokens`, below the role's cap. */
  maxNewTokens?: number;
}

/** Who is calling: the API key that authenticated the request, and what it carries. */
export interface Principal {
  keyId: string;
  /** The tenant or team the key belongs to. */
  tenant: string;
  name: string;
  roles: readonly Role[];
  /** Models this key may use; undefined means every served model. */
  models?: readonly string[];
  limits: KeyLimits;
}
