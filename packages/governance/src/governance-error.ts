import { StrataError, type ErrorCode } from '@strata/contracts';

type GovernanceCode = Extract<
  ErrorCode,
  'unauthenticated' | 'forbidden' | 'rate_limited' | 'guardrail_blocked' | 'validation_failed' | 'not_found'
>;

/** Errors of the governance layer: identity, policy, limits and guardrails. */
export class GovernanceError extends StrataError {
  constructor(
    code: GovernanceCode,
    message: string,
    options: { field?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(code, message, options.field, options);
  }
}
