import { HttpException } from '@nestjs/common';
import { StrataError, type ErrorBody, type ErrorCode } from '@strata/contracts';

/** The HTTP status each domain error code maps to. The layers below never choose a status themselves. */
export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 422,
  input_too_long: 422,
  malformed_request: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  not_found: 404,
  model_not_found: 404,
  unauthenticated: 401,
  forbidden: 403,
  rate_limited: 429,
  guardrail_blocked: 422,
  model_not_ready: 503,
  model_load_failed: 503,
  shutting_down: 503,
  overloaded: 429,
  queue_timeout: 503,
  // nginx's "client closed request": nobody reads it, but logs and metrics tell cancellations apart.
  cancelled: 499,
  generation_failed: 500,
  config_invalid: 500,
  internal_error: 500,
  event_invalid: 500,
  integrity_failed: 500,
  unavailable: 503,
};

const CODE_BY_HTTP_STATUS: Record<number, ErrorCode> = {
  400: 'malformed_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  414: 'validation_failed',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'shutting_down',
};

export interface HttpError {
  status: number;
  body: ErrorBody;
  /** Seconds before a retry may succeed, sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** True when the error is ours (a 5xx we did not expect): log it with its stack. */
  unexpected: boolean;
}

/**
 * Turns anything thrown while serving a request into a status and a `{error: {code, message}}` body: domain
 * errors by code, Nest's HTTP exceptions and Fastify's own errors (body too large, bad JSON) by status.
 * Unexpected errors become a 500 whose message reveals nothing of the server's internals.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof StrataError) {
    const status = HTTP_STATUS_BY_CODE[error.code];
    const safe = status < 500 || OWN_5XX_MESSAGES.has(error.code);
    return {
      status,
      // A 5xx from below (a database or broker failure) may carry a driver's message: it stays in the log.
      body: safe
        ? error.toBody()
        : { error: { code: error.code, message: GENERIC_5XX[error.code] ?? 'internal server error' } },
      unexpected: status === 500,
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    };
  }
  const status = error instanceof HttpException ? error.getStatus() : fastifyStatus(error);
  // A host application's guard or pipe may throw any 4xx; it keeps its status.
  const code =
    status === undefined
      ? undefined
      : (CODE_BY_HTTP_STATUS[status] ?? (status < 500 ? 'malformed_request' : undefined));
  if (status !== undefined && code !== undefined) {
    return { status, body: { error: { code, message: describe(error, code) } }, unexpected: false };
  }
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: 'internal server error' } },
    unexpected: true,
  };
}

/** 5xx codes whose messages Strata writes itself for the client (the model layer's); others are replaced. */
const OWN_5XX_MESSAGES: ReadonlySet<ErrorCode> = new Set([
  'model_not_ready',
  'model_load_failed',
  'shutting_down',
  'queue_timeout',
]);

const GENERIC_5XX: Partial<Record<ErrorCode, string>> = {
  unavailable: 'a service this server depends on is unavailable; try again later',
  // The cause (an ONNX Runtime message, say) is logged, not sent.
  generation_failed: 'generation failed',
};

/** The API surfaces, each with its own error shape. */
export type ApiSurface = 'tgi' | 'openai' | 'strata';

/** TGI's routes; OpenAI's are under `/v1/`. Everything else (admin, audit, health, docs) is Strata's own. */
const TGI_PATHS: ReadonlySet<string> = new Set(['/generate', '/generate_stream', '/info', '/tokenize']);

/** The surface a request URL belongs to, so that even errors raised before routing use that surface's shape. */
export function surfaceOf(url: string): ApiSurface {
  const pathname = url.split('?', 1)[0]?.replace(/\/+$/, '') ?? '';
  if (TGI_PATHS.has(pathname)) return 'tgi';
  if (pathname === '/v1' || pathname.startsWith('/v1/')) return 'openai';
  return 'strata';
}

/** TGI's `error_type` words where TGI has one; Strata's code otherwise. */
const TGI_ERROR_TYPE: Partial<Record<ErrorCode, string>> = {
  validation_failed: 'validation',
  input_too_long: 'validation',
  malformed_request: 'validation',
  payload_too_large: 'validation',
  unsupported_media_type: 'validation',
  guardrail_blocked: 'validation',
  overloaded: 'overloaded',
  rate_limited: 'overloaded',
  queue_timeout: 'overloaded',
  generation_failed: 'generation',
  model_not_ready: 'unhealthy',
  model_load_failed: 'unhealthy',
  shutting_down: 'unhealthy',
};

/** OpenAI's error `type` by HTTP status. */
function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * The error body in a surface's own shape: TGI's `{error, error_type}`, OpenAI's
 * `{error: {message, type, param, code}}`, or Strata's `{error: {code, message, field?}}`.
 */
export function errorBodyFor(surface: ApiSurface, status: number, body: ErrorBody): unknown {
  const { code, message, field } = body.error;
  switch (surface) {
    case 'tgi':
      return { error: message, error_type: TGI_ERROR_TYPE[code] ?? code };
    case 'openai':
      return { error: { message, type: openAiErrorType(status), param: field ?? null, code } };
    default:
      return body;
  }
}

/** Fastify's client errors carry `statusCode` and a `FST_ERR_*` code. */
function fastifyStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode >= 500) return undefined;
  return typeof code === 'string' && code.startsWith('FST_') ? statusCode : undefined;
}

/** Fastify's errors before routing, in words that do not echo the request back. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not valid: a percent-encoded part is not UTF-8',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than the server accepts',
  FST_ERR_ASYNC_CONSTRAINT: 'the request matches no route',
};

function describe(error: unknown, code: ErrorCode): string {
  const fastifyCode = (error as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_MESSAGES[fastifyCode]) return FASTIFY_MESSAGES[fastifyCode];
  const message = error instanceof Error ? error.message : '';
  switch (code) {
    case 'payload_too_large':
      return 'request body is larger than the server accepts';
    case 'malformed_request':
      return message ? `malformed request body: ${message}` : 'malformed request body';
    default:
      return message || code;
  }
}
