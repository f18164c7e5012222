import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How long a client may take, per connection, before the server gives its socket back. */
export interface HttpTimeouts {
  /** From the first byte of a request to the end of its headers. */
  headersTimeoutMs: number;
  /** From the first byte of a request to the end of its body. */
  requestTimeoutMs: number;
  /** Silence on the socket while the client sends or is sent to (not while the server works on the answer). */
  idleTimeoutMs: number;
  /** An open connection between two requests. */
  keepAliveTimeoutMs: number;
}

/**
 * Fastify options that bound slow clients. Node checks the header and request deadlines only every
 * connectionsCheckingInterval (30 s by default, which let an incomplete request sit for 70 s and more), so the
 * check runs often enough for the deadline to be kept within a quarter of it, at most a second late.
 */
export function httpTimeoutOptions(t: HttpTimeouts) {
  return {
    connectionTimeout: t.idleTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    http: {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(t.headersTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(t),
  };
}

/**
 * The idle timeout measures the client, not the server: it is off from the moment the request has been read
 * (body parsed) until the answer starts, so a long answer (`wait: true`) or a live stream (hijacked, Server-Sent
 * Events) is never cut, and on again for sending the answer to a client that may not read it.
 */
export function installIdleTimeout(app: FastifyInstance, t: HttpTimeouts) {
  app.addHook('preHandler', async (req) => {
    req.raw.socket?.setTimeout(0);
  });
  app.addHook('onSend', async (req) => {
    req.raw.socket?.setTimeout(t.idleTimeoutMs);
  });
}

/** Node's client errors (a request not received in time, headers too large, bytes that are not HTTP) in our error shape. */
function clientErrorHandler(t: HttpTimeouts) {
  return (err: Error & { code?: string }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, reason, code, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', `the request was not received in time: headers are due within ${t.headersTimeoutMs} ms, the whole request within ${t.requestTimeoutMs} ms`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts']
          : [400, 'Bad Request', 'BAD_REQUEST', 'the request is not valid HTTP'];
    const body = JSON.stringify({ error: { code, message } });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  };
}
