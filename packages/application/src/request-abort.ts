import type { FastifyReply } from 'fastify';
import { StrataError } from '@strata/contracts';

/** An AbortSignal that fires when the client goes away before its answer is sent, to stop wasted generation. */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) {
      controller.abort(new StrataError('cancelled', 'the client closed the connection'));
    }
  });
  return controller.signal;
}
