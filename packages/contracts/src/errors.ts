import { z } from 'zod';

/**
 * Error codes shared by every layer. Domain errors carry one of these codes; the edges (HTTP filters,
 * event consumers) map a code to a transport status, so the layers never speak HTTP.
 */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_request',
  'payload_too_large',
  'unsupported_media_type',
  'method_not_allowed',
  'not_found',
  'model_not_found',
  'unauthenticated',
  'forbidden',
  'rate_limited',
  'guardrail_blocked',
  'input_too_long',
  'model_not_ready',
  'model_load_failed',
  'generation_failed',
  'shutting_down',
  'overloaded',
  'queue_timeout',
  'cancelled',
  'config_invalid',
  'internal_error',
  'event_invalid',
  'integrity_failed',
  'unavailable',
] as const;

/** A stable, machine-readable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The JSON body every Strata HTTP error uses: `{error: {code, message}}`. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    /** Where the problem is, for validation errors: a dotted path such as `parameters.top_p`. */
    field: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Base class for domain errors: a code plus a message that names the problem. */
export class StrataError extends Error {
  /** For load and rate-limit errors: when the client may try again (an HTTP `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
      },
    };
  }
}
