import { StrataError, type ErrorCode } from '@strata/contracts';

/**
 * An infrastructure failure (bus, database, object store) with a Strata error code. `retriable` tells event
 * consumers whether trying again can help: a broker that is down can come back, a corrupt object cannot.
 */
export class PlatformError extends StrataError {
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(code, message, undefined, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? code === 'unavailable';
  }
}

/** Codes that describe the message itself, so a retry would fail the same way: dead-letter at once. */
const PERMANENT_CODES: ReadonlySet<ErrorCode> = new Set([
  'validation_failed',
  'malformed_request',
  'event_invalid',
  'integrity_failed',
  'config_invalid',
]);

/**
 * Whether a failed handler is worth retrying. Domain errors decide by code (or by `retriable` on a
 * PlatformError); anything else, such as a dropped connection, is assumed transient.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof PlatformError) return error.retriable;
  if (error instanceof StrataError) return !PERMANENT_CODES.has(error.code);
  return true;
}

/** The error code to report for any thrown value. */
export function errorCodeOf(error: unknown): string {
  return error instanceof StrataError ? error.code : 'internal_error';
}

/** A one-line description of any thrown value. */
export function errorMessageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
