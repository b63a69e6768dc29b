import { StrataError, type ErrorCode } from '@strata/contracts';

/**
 * A problem building a starter model: an invalid {@link Gpt2Config}, weights of the wrong size, or missing
 * tokenizer assets. Carries a Strata error code (`config_invalid` for bad input, `internal_error` for a broken
 * installation) so callers can map it like any other domain error.
 */
export class StarterModelError extends StrataError {
  constructor(
    code: Extract<ErrorCode, 'config_invalid' | 'internal_error'>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, undefined, options);
  }
}
