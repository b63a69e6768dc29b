import { StrataError, type ErrorCode } from '@strata/contracts';

/** A data-layer failure with a Strata error code; the HTTP edge and the CLI map codes to statuses and exits. */
export class DataError extends StrataError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
  }
}
