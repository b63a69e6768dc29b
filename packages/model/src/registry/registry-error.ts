import { StrataError, type ErrorCode } from '@strata/contracts';

/** Errors of the model registry, tracking and promotion. The edges map the code to a status. */
export class RegistryError extends StrataError {
  constructor(
    code: Extract<
      ErrorCode,
      | 'validation_failed'
      | 'not_found'
      | 'forbidden'
      | 'integrity_failed'
      | 'model_load_failed'
      | 'unavailable'
    >,
    message: string,
    field?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, field, options);
  }
}
