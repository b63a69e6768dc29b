import type { FastifyInstance } from 'fastify';

/**
 * Lets a draining server finish. Node's `server.close()` waits for every open connection, and a keep-alive
 * connection whose request was still in flight when shutdown began would stay open until its idle timeout
 * (72 s in Fastify), past Kubernetes' grace period. Responses sent while closing therefore ask the client to
 * close the connection, so the process exits as soon as the last answer is out.
 */
export function closeConnectionsWhenDraining(fastify: FastifyInstance): void {
  let draining = false;
  fastify.addHook('preClose', async () => {
    draining = true;
  });
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (draining) void reply.header('connection', 'close');
    return payload;
  });
}
