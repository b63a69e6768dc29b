import { StrataError, type ErrorCode } from '@strata/contracts';

/** Errors of the model layer: loading, validating a request against the model's limits, and generating. */
export class ModelError extends StrataError {
  constructor(
    code: Extract<
      ErrorCode,
      'validation_failed' | 'input_too_long' | 'model_not_ready' | 'model_load_failed' | 'generation_failed'
    >,
    message: string,
    field?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, field, options);
  }
}
