import type { FastifyReply } from 'fastify';

/** A Server-Sent Events response: `data:` lines, written as soon as they are produced. */
export interface SseWriter {
  send(data: unknown): void;
  /** A raw `data:` payload, e.g. OpenAI's `[DONE]` sentinel. */
  sendRaw(data: string): void;
  end(): void;
}

/**
 * Takes over the reply and opens an event stream. Called only after the request was validated and accepted,
 * so every error before that point is still an ordinary JSON error response.
 */
export function openSse(reply: FastifyReply): SseWriter {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // Proxies such as nginx buffer responses unless told not to, which would hold tokens back.
    'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const write = (payload: string) => {
    if (!raw.writableEnded && !raw.destroyed) raw.write(`data: ${payload}\n\n`);
  };
  return {
    send: (data) => write(JSON.stringify(data)),
    sendRaw: write,
    end: () => {
      if (!raw.writableEnded) raw.end();
    },
  };
}
