import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from './errors.js';

/** Every error leaves the server as `{ error: { code, message, field? } }` with the right status; never a bare 500 for bad input. */
export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) return reply.code(err.status).send(err.toJSON());
    const code = (err as FastifyError).code;
    const status = (err as FastifyError).statusCode;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(new AppError('PAYLOAD_TOO_LARGE', 413, `request body is larger than the limit of ${app.initialConfig.bodyLimit} bytes`).toJSON());
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' } });
    }
    if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (status === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send(new AppError('VALIDATION_FAILED', 400, 'the body is not valid JSON', 'body').toJSON());
    }
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: code ?? 'BAD_REQUEST', message: err.message } });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal server error; the details are in the server log' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });
}

/**
 * A body above the limit is answered with 413 before it is parsed, but only once it has been read to its end:
 * a client that is still sending (most SDKs write the whole body before reading) then gets the 413 instead of
 * a connection reset. Past a hard cap the connection is closed instead of reading on.
 */
export function refuseOversizedBodies(app: FastifyInstance, limit: number, hardCap = 64 * 1024 * 1024) {
  app.addHook('onRequest', async (req) => {
    const len = Number(req.headers['content-length'] ?? 0);
    // A route may take more than the server's limit (an execution's files): its own limit is the one to keep.
    const routeLimit = req.routeOptions.bodyLimit ?? limit;
    if (!(len > routeLimit)) return;
    const error = new AppError('PAYLOAD_TOO_LARGE', 413, `request body of ${len} bytes is larger than the limit of ${routeLimit} bytes`);
    if (len > hardCap) {
      req.raw.socket.destroySoon();
      throw error;
    }
    await new Promise<void>((resolve) => {
      req.raw.once('end', resolve);
      req.raw.once('close', resolve);
      req.raw.once('error', () => resolve());
      req.raw.resume();
    });
    throw error;
  });
}

/**
 * `Content-Type: application/json` with an empty body (a DELETE or a cancel from a client that sets the header on
 * every request) is a request without a body, not invalid JSON: the route sees no body and decides. A body that is
 * there is parsed by Fastify's own JSON parser, prototype poisoning refused as before.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance) {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    return json(req, body as string, done);
  });
}
