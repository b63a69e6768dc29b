import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { findWireTextViolation, MAX_IDENTIFIER_LENGTH, StrataError } from '@strata/contracts';

/** Headers whose values reach storage or logic: the data subject, and the presented key. */
const CHECKED_HEADERS = ['x-strata-subject', 'x-api-key', 'authorization'] as const;

/**
 * Applies the wire text rule (no NUL, no lone surrogate, bounded length) to everything a request carries into
 * Strata, before authentication and before any handler: path and query parameters, checked headers, and every
 * string and field name of the JSON body. A violation is a 422 naming where it is, so bad text never reaches the
 * database, the audit log or a driver's error message.
 */
@Injectable()
export class WireTextGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const violation =
      findWireTextViolation(request.params, 'path', MAX_IDENTIFIER_LENGTH) ??
      findWireTextViolation(request.query, 'query', MAX_IDENTIFIER_LENGTH) ??
      findWireTextViolation(pickHeaders(request), 'header', MAX_IDENTIFIER_LENGTH) ??
      // Body strings (prompts) are bounded by the body size limit; their field names by the identifier limit.
      // A raw upload (application/octet-stream) is a byte stream, not text: its route stores it as bytes.
      (request.body instanceof Readable
        ? undefined
        : findWireTextViolation(request.body, '', Number.MAX_SAFE_INTEGER));
    if (violation) {
      const where = violation.where || 'body';
      throw new StrataError('validation_failed', `${where}: ${violation.problem}`, where);
    }
    return true;
  }
}

function pickHeaders(request: FastifyRequest): Record<string, unknown> {
  return Object.fromEntries(CHECKED_HEADERS.map((name) => [name, request.headers[name]]));
}
