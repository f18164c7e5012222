import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, forbidden, unauthorized } from '../errors.js';
import { looksLikeJwt } from './keys.js';
import type { User, UsersRepository } from './users-repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: User;
  }
  interface FastifyContextConfig {
    /** Routes that anyone may call, such as /health. */
    public?: boolean;
  }
}

export function requireAdmin(req: FastifyRequest): void {
  if (req.actor.role !== 'admin') throw forbidden('this action needs an admin API key');
}

/** Bearer API-key authentication for the public API. Execution tokens are refused here by design. */
export const authPlugin = fp(async (app: FastifyInstance, opts: { users: UsersRepository }) => {
  app.decorateRequest('actor', null as unknown as User);
  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    if (req.routeOptions.config?.public) return;
    if (!req.url.startsWith('/api/')) return;
    const header = req.headers.authorization;
    if (!header) throw unauthorized('missing Authorization header: send "Authorization: Bearer <api key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) throw unauthorized('malformed Authorization header: expected "Bearer <api key>"');
    const token = m[1];
    if (looksLikeJwt(token)) throw unauthorized('execution tokens are only accepted by the runtime API; use an API key');
    const user = await opts.users.findByKey(token);
    if (!user) throw unauthorized('invalid or revoked API key');
    if (user.disabled) throw new AppError('USER_DISABLED', 403, `user "${user.name}" is disabled; an admin can enable it again`);
    req.actor = user;
  });
});
